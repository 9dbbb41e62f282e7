#ifndef LPH_CINOTIFYTOOLS_SHIM_H
#define LPH_CINOTIFYTOOLS_SHIM_H
#include <sys/inotify.h>
#include <inotifytools/inotifytools.h>
#endif
