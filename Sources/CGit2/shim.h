#ifndef LPH_CGIT2_SHIM_H
#define LPH_CGIT2_SHIM_H
#include <git2.h>

/* git_libgit2_opts is variadic, which Swift cannot call: the one use, spelled out. */
static inline int lph_git_clear_config_search_path(int level) {
    return git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, level, "");
}
#endif
