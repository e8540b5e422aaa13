#ifndef TOFU_CTHREADSANITIZER_H
#define TOFU_CTHREADSANITIZER_H

/* ThreadSanitizer's happens-before annotations (compiler-rt's tsan_interface.h). Declared
 * weak: in a build without TSan they are absent and the calls below do nothing. */
extern void __tsan_acquire(void *address) __attribute__((weak));
extern void __tsan_release(void *address) __attribute__((weak));

/* What a thread that just took a lock keyed by `address` has seen. */
static inline void tofu_tsan_acquire(void *address) {
    if (__tsan_acquire) __tsan_acquire(address);
}

/* What a thread about to give up that lock has done. */
static inline void tofu_tsan_release(void *address) {
    if (__tsan_release) __tsan_release(address);
}

#endif
