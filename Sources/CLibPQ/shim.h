#ifndef TOFU_CLIBPQ_SHIM_H
#define TOFU_CLIBPQ_SHIM_H
/* libpq's declarations only: tofu-rpc does not link libpq, it loads it when a PostgreSQL store
 * is first opened (TofuStore's LibPQ), so that a process on an SQLite store never maps it nor
 * the libraries it brings. The header is where libpq-dev puts it on Debian and Ubuntu. */
#include <postgresql/libpq-fe.h>

/* The type of a pointer to each function the PostgreSQL backend calls, taken from its
 * declaration above, so that what dlsym finds is called with libpq's own signature. */
#define TOFU_PQ_FUNCTION(name) typedef __typeof__(&name) tofu_##name##_function;
TOFU_PQ_FUNCTION(PQconnectdbParams)
TOFU_PQ_FUNCTION(PQstatus)
TOFU_PQ_FUNCTION(PQerrorMessage)
TOFU_PQ_FUNCTION(PQfinish)
TOFU_PQ_FUNCTION(PQsetNoticeProcessor)
TOFU_PQ_FUNCTION(PQsetnonblocking)
TOFU_PQ_FUNCTION(PQsocket)
TOFU_PQ_FUNCTION(PQsendQuery)
TOFU_PQ_FUNCTION(PQsendQueryParams)
TOFU_PQ_FUNCTION(PQsendPrepare)
TOFU_PQ_FUNCTION(PQsendQueryPrepared)
TOFU_PQ_FUNCTION(PQflush)
TOFU_PQ_FUNCTION(PQconsumeInput)
TOFU_PQ_FUNCTION(PQisBusy)
TOFU_PQ_FUNCTION(PQgetResult)
TOFU_PQ_FUNCTION(PQresultStatus)
TOFU_PQ_FUNCTION(PQresultErrorField)
TOFU_PQ_FUNCTION(PQresultErrorMessage)
TOFU_PQ_FUNCTION(PQclear)
TOFU_PQ_FUNCTION(PQntuples)
TOFU_PQ_FUNCTION(PQnfields)
TOFU_PQ_FUNCTION(PQcmdTuples)
TOFU_PQ_FUNCTION(PQftype)
TOFU_PQ_FUNCTION(PQgetisnull)
TOFU_PQ_FUNCTION(PQgetvalue)
TOFU_PQ_FUNCTION(PQgetlength)
TOFU_PQ_FUNCTION(PQunescapeBytea)
TOFU_PQ_FUNCTION(PQfreemem)
#undef TOFU_PQ_FUNCTION
#endif
