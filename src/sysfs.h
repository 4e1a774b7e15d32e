/*
 * sysfs.h - the kernel's sensor trees, enumerated by identity (internal to
 * the linux board and its --probe).
 *
 * hwmon chips (Documentation/hwmon/sysfs-interface.rst) are listed with the
 * identity a product description names them by, never by hwmonN:
 *   - their `name` file, in hwmonN/ or, on old kernels and some platform
 *     drivers, in hwmonN/device/ (where the attributes then sit too; the
 *     fallback lm-sensors' libsensors makes);
 *   - a chip with no `name` file anywhere is named by its device's
 *     directory ("1-004c" for an I2C chip at 0x4c on bus 1), which is stable
 *     across boots; with no device either, by hwmonN (not stable: said so);
 *   - chips sharing an identity (two NVMe drives, two coretemp packages) are
 *     told apart by the real path of their device: CHIP[N] is the Nth in that
 *     order, whatever their hwmon numbers.
 * Thermal zones are listed by `type`, zones sharing one by zone number.
 */
#ifndef TPD_SYSFS_H
#define TPD_SYSFS_H

#include <stdbool.h>
#include <stddef.h>

#include "tpd/err.h"

#define TPD_SYSFS_PATH_MAX 1024
#define TPD_SYSFS_MAX_CHIPS 64
#define TPD_SYSFS_MAX_ZONES 64

struct tpd_sysfs_chip {
	char hwmon[TPD_SYSFS_PATH_MAX];  /* ROOT/class/hwmon/hwmonN */
	char dir[TPD_SYSFS_PATH_MAX];    /* where its attributes are: hwmonN or hwmonN/device */
	char device[TPD_SYSFS_PATH_MAX]; /* real path of hwmonN/device; "" when none */
	char ident[64];                  /* `name`, else the device's directory, else hwmonN */
	bool named;                      /* ident came from a `name` file */
	unsigned nth;                    /* index among chips of this ident, by device path */
	unsigned same;                   /* chips sharing this ident (1 = unique) */
};

struct tpd_sysfs_zone {
	char dir[TPD_SYSFS_PATH_MAX];    /* ROOT/class/thermal/thermal_zoneN */
	char type[64];
	unsigned num;                    /* N */
	unsigned nth, same;              /* as for chips, ordered by N */
};

/* Reads a small file, trailing whitespace trimmed; false when unreadable. */
bool tpd_sysfs_read(const char *path, char *buf, size_t len);
/* The same from an open file, read again from its start (sysfs and /proc
 * make the text afresh for each such read). */
bool tpd_sysfs_pread(int fd, char *buf, size_t len);
/* A whole decimal (base 10) or hex (16) integer and nothing else. */
bool tpd_sysfs_number(const char *s, int base, double *out);
/* snprintf for paths: false (buf truncated) when it does not fit. */
bool tpd_sysfs_fmt(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Divisor from an hwmon channel's raw value to SPEC §4 units ("temp1" m°C,
 * "in0" mV, "curr1" mA: 1000; "power1" µW: 1e6; "fan1": 1); 0 when chan is
 * not such a channel. Dividing (not multiplying by 1e-3) keeps 12050 mV at
 * exactly the double nearest 12.05. */
double tpd_sysfs_hwmon_div(const char *chan);

/* Every hwmon chip under root (ROOT/class/hwmon), sorted by ident then nth.
 * *out is malloc'ed (the caller frees it; NULL with *n 0 when there are
 * none). TPD_ERR_NOMEM on allocation failure. At most TPD_SYSFS_MAX_CHIPS. */
enum tpd_err tpd_sysfs_chips(const char *root, struct tpd_sysfs_chip **out, size_t *n);
/* "nvme" or, when the ident is shared, "nvme[1]". */
void tpd_sysfs_chip_spec(const struct tpd_sysfs_chip *c, char *buf, size_t len);

/* Every thermal zone with a readable type, sorted by type then number. */
enum tpd_err tpd_sysfs_zones(const char *root, struct tpd_sysfs_zone **out, size_t *n);

#endif
