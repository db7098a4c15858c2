/* test_fuzz_replay.c -- replays the fuzz harnesses' committed inputs
 * without libFuzzer, as part of `make test` (and under `make asan` and
 * `make valgrind`): every file of spec/fuzz/corpus/<harness>/ (the seeds)
 * and spec/fuzz/regressions/<harness>/ (inputs that once found a bug) goes
 * through the same LLVMFuzzerTestOneInput the fuzzer runs.  A harness
 * invariant that fails aborts the test; ASan/valgrind report memory errors.
 *
 * Directory: $TV_FUZZ_DIR, default spec/fuzz (run from the repository root).
 * Built by the top-level rule for spec/c/test_*.c; mk/memcheck.mk adds the
 * binding and emulator objects and liblua to its link line. */
#include <dirent.h>
#include <sys/stat.h>

#define LLVMFuzzerTestOneInput fz_one_response
#include "../fuzz/fuzz_response.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_request
#include "../fuzz/fuzz_request.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_totp
#include "../fuzz/fuzz_totp.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_json_lua
#include "../fuzz/fuzz_json_lua.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_emu_form
#include "../fuzz/fuzz_emu_form.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_jcursor
#include "../fuzz/fuzz_jcursor.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_page_url
#include "../fuzz/fuzz_page_url.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_params
#include "../fuzz/fuzz_params.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_lua_pages
#include "../fuzz/fuzz_lua_pages.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_webhook
#include "../fuzz/fuzz_webhook.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_jwt
#include "../fuzz/fuzz_jwt.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_oracle
#include "../fuzz/fuzz_oracle.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fz_one_lua_transport
#include "../fuzz/fuzz_lua_transport.c"
#undef LLVMFuzzerTestOneInput

#include "ctest.h"

typedef int (*fz_fn)(const uint8_t *, size_t);

static const struct {
    const char *name;
    fz_fn fn;
} harnesses[] = {
    {"response", fz_one_response}, {"request", fz_one_request},   {"totp", fz_one_totp},
    {"json_lua", fz_one_json_lua}, {"emu_form", fz_one_emu_form}, {"jcursor", fz_one_jcursor},
    {"page_url", fz_one_page_url}, {"params", fz_one_params},     {"lua_pages", fz_one_lua_pages},
    {"webhook", fz_one_webhook},   {"jwt", fz_one_jwt},           {"oracle", fz_one_oracle},
    {"lua_transport", fz_one_lua_transport},
};

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replay every regular file of dir; returns how many (or -1: no dir). */
static int replay_dir(const char *dir, fz_fn fn) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    static char *names[4096];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < sizeof names / sizeof names[0])
        if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_names);
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        free(names[i]);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        FILE *f = fopen(path, "rb");
        CHECK(f != NULL);
        if (!f) continue;
        /* exact-size copy: the harness may rely on ASan seeing its end */
        uint8_t *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
        size_t got = fread(buf, 1, (size_t)st.st_size, f);
        fclose(f);
        CHECK(got == (size_t)st.st_size);
        fn(buf, got); /* aborts on a broken invariant */
        free(buf);
        count++;
    }
    return count;
}

int main(void) {
    const char *root = getenv("TV_FUZZ_DIR");
    if (!root) root = "spec/fuzz";
    for (size_t h = 0; h < sizeof harnesses / sizeof harnesses[0]; h++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/corpus/%s", root, harnesses[h].name);
        int seeds = replay_dir(dir, harnesses[h].fn);
        if (seeds < 1) fprintf(stderr, "fuzz_replay: no seed corpus in %s\n", dir);
        CHECK(seeds >= 1); /* every harness has a committed seed corpus */
        snprintf(dir, sizeof dir, "%s/regressions/%s", root, harnesses[h].name);
        int regs = replay_dir(dir, harnesses[h].fn);
        CHECK(regs >= -1);
        printf("  %-8s %d seeds, %d regression inputs replayed\n", harnesses[h].name, seeds, regs < 0 ? 0 : regs);
    }
    return ct_report("fuzz_replay");
}
