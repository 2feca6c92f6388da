#ifndef DEPLOYLOG_CLIBPQ_SHIM_H
#define DEPLOYLOG_CLIBPQ_SHIM_H
// Only the public libpq header (used by the PostgreSQL store).
#include <libpq-fe.h>
#endif
