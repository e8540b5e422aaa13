#ifndef TOFU_CSTANDARDDESCRIPTORS_H
#define TOFU_CSTANDARDDESCRIPTORS_H

/* Which of stdin, stdout and stderr (bits 0, 1, 2) were closed when the process started and
 * were opened on /dev/null before anything else ran (see standard_descriptors.c). */
int tofu_standard_descriptors_reopened(void);

#endif
