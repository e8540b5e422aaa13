#ifndef TOFU_CPROCESSCONTROL_SHIM_H
#define TOFU_CPROCESSCONTROL_SHIM_H
#include <malloc.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>

/* prctl is variadic, which Swift cannot call: one fixed-argument call per use. */
static inline int tofu_prctl_set_dumpable(int dumpable) {
    return prctl(PR_SET_DUMPABLE, (unsigned long)dumpable, 0UL, 0UL, 0UL);
}
static inline int tofu_prctl_get_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0UL, 0UL, 0UL, 0UL); }

#endif
