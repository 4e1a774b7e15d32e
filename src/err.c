/* err.c - text for enum tpd_err. */
#include "tpd/err.h"

const char *tpd_strerror(enum tpd_err err)
{
	switch (err) {
	case TPD_OK: return "success";
	case TPD_ERR_NOMEM: return "out of memory";
	case TPD_ERR_INVAL: return "invalid input";
	case TPD_ERR_IO: return "I/O error";
	case TPD_ERR_EOF: return "end of input";
	case TPD_ERR_UNSUPPORTED: return "not supported";
	case TPD_ERR_NOTFOUND: return "not found";
	case TPD_ERR_TOOBIG: return "too big";
	case TPD_ERR_CRYPTO: return "cryptographic error";
	case TPD_ERR_VERIFY: return "signature verification failed";
	case TPD_ERR_MQTT: return "MQTT error";
	case TPD_ERR_DB: return "database error";
	case TPD_ERR_DUPLICATE: return "duplicate";
	case TPD_ERR_STATE: return "not allowed in this state";
	case TPD_ERR_RETRY: return "conflict with a concurrent transaction";
	}
	return "unknown error";
}
