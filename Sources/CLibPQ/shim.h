#ifndef TOFU_CLIBPQ_SHIM_H
#define TOFU_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
