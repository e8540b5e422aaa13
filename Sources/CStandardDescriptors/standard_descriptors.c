/* A process started with stdin, stdout or stderr closed would give the next file it opens
 * that number: Dispatch's epoll, or the store itself, whose pages JSON answers and log lines
 * would then be written over. Before anything else runs (a constructor: Swift's runtime and
 * Dispatch open descriptors before `main`), each closed one is opened on /dev/null. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "CStandardDescriptors.h"

static int reopened;

__attribute__((constructor)) static void tofu_open_standard_descriptors(void) {
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
        /* The lowest free number: this one, as those below it are open by now. */
        int opened = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (opened == fd) reopened |= 1 << fd;
        else if (opened >= 0) close(opened);
    }
}

int tofu_standard_descriptors_reopened(void) { return reopened; }
