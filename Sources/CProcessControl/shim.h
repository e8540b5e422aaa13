#ifndef TOFU_CPROCESSCONTROL_SHIM_H
#define TOFU_CPROCESSCONTROL_SHIM_H
#include <malloc.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/types.h>
#include <sys/uio.h>

/* prctl is variadic, which Swift cannot call: one fixed-argument call per use. */
static inline int tofu_prctl_set_dumpable(int dumpable) {
    return prctl(PR_SET_DUMPABLE, (unsigned long)dumpable, 0UL, 0UL, 0UL);
}
static inline int tofu_prctl_get_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0UL, 0UL, 0UL, 0UL); }

/* pwritev2 is declared only under _GNU_SOURCE, which Swift's Glibc module does not define
 * (the same declaration as glibc's on x86_64 and aarch64, where off_t is 64 bits). */
extern ssize_t pwritev2(int fd, const struct iovec *iov, int iovcnt, off_t offset, int flags);
#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif

/* One write of `count` bytes at the descriptor's position that fails with EAGAIN rather than
 * block, on a descriptor left blocking (another process may share it). */
static inline ssize_t tofu_write_nowait(int fd, const void *bytes, size_t count) {
    struct iovec vector = { (void *)bytes, count };
    return pwritev2(fd, &vector, 1, -1, RWF_NOWAIT);
}

/* Declared only under _GNU_SOURCE (glibc 2.34 and later): a child started with posix_spawn
 * closes every descriptor from `from` up, as Foundation's Process did one by one. */
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);

#endif
