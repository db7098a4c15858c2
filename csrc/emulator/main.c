/*
 * main.c -- command line of twilio-verify-emulator.
 *
 *   twilio-verify-emulator --port N --account-sid AC... --auth-token TOKEN
 *                          [--api-key SK... --api-secret S] [--seed FILE]
 *                          [--no-limits] [--allow-host HOST[:PORT]] [--verbose] [--help]
 *   twilio-verify-emulator --oracle-rules
 *
 * Prints the bound port alone on stdout's first line, then serves on
 * 127.0.0.1 until SIGTERM or SIGINT (received with sigwait: no handler, no
 * global state).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "tv_validate.h"

static void usage(FILE *out) {
    fputs("usage: twilio-verify-emulator [--port N] [--account-sid AC...] [--auth-token TOKEN]\n"
          "                              [--api-key SK... --api-secret SECRET] [--seed FILE]\n"
          "                              [--no-limits] [--allow-host HOST[:PORT]] [--verbose] [--help]\n"
          "       twilio-verify-emulator --oracle-rules\n"
          "\n"
          "A local, stateful stand-in for the Twilio Verify v2 Factor API on 127.0.0.1.\n"
          "  --port N          TCP port (default 0: pick a free one); the bound port is\n"
          "                    printed alone on the first line of stdout\n"
          "  --account-sid AC  account SID accepted as Basic-auth user\n"
          "                    (default " EMU_DEFAULT_ACCOUNT_SID ")\n"
          "  --auth-token T    its password (default " EMU_DEFAULT_AUTH_TOKEN ")\n"
          "  --api-key SK      also accept this API key SID as user ...\n"
          "  --api-secret S    ... with this secret as password\n"
          "  --seed FILE       preload factors from a JSON file (see doc/emulator.md)\n"
          "  --no-limits       lift the limits, for load tests: factors per entity\n"
          "                    (60315, 60326), challenges per factor (60312), sends per\n"
          "                    verification (60203), rate limits (20429), SafeList's own\n"
          "                    limit; never the checks per verification (60202)\n"
          "  --allow-host H    also accept this Host header value (e.g. a forwarded\n"
          "                    port: localhost:9000); by default only 127.0.0.1,\n"
          "                    localhost and [::1] on the bound port are (DNS rebinding)\n"
          "  --verbose         log libmicrohttpd errors on stderr\n"
          "  --oracle-rules    print the rules requests are checked against (from the\n"
          "                    embedded OpenAPI description), one JSON object a line\n"
          "SIGTERM or SIGINT stops it.  Control endpoints live under /__emulator/.\n",
          out);
}

/* --oracle-rules: what the embedded description compiles to. */
static int print_rules(void) {
    char err[512];
    emu_oracle *o = emu_oracle_new(err, sizeof err);
    if (!o) {
        fprintf(stderr, "twilio-verify-emulator: %s\n", err);
        return 1;
    }
    int rc = emu_oracle_dump(o, stdout) == 0 && fflush(stdout) == 0 ? 0 : 1;
    emu_oracle_free(o);
    return rc;
}

/* Parse argv into cfg.  Returns 0, 1 for --help, -1 on a usage error. */
static int parse_args(int argc, char **argv, emu_config *cfg) {
    const char *token = EMU_DEFAULT_AUTH_TOKEN, *key = NULL, *secret = NULL;
    snprintf(cfg->account_sid, sizeof cfg->account_sid, "%s", EMU_DEFAULT_ACCOUNT_SID);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        char name[32];
        const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        if (eq) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - a), a);
            v = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", a);
        }
        if (!strcmp(name, "--help") || !strcmp(name, "-h")) return 1;
        if (!strcmp(name, "--no-limits")) { cfg->no_limits = 1; continue; }
        if (!strcmp(name, "--verbose")) { cfg->verbose = 1; continue; }
        static const char *const valued[] = {"--port", "--account-sid", "--auth-token", "--api-key",
                                             "--api-secret", "--seed", "--allow-host", NULL};
        int known = 0;
        for (const char *const *k = valued; *k; k++) known |= !strcmp(name, *k);
        if (!known) {
            fprintf(stderr, "twilio-verify-emulator: unknown option %s\n", name);
            return -1;
        }
        if (!v) {
            if (i + 1 >= argc) {
                fprintf(stderr, "twilio-verify-emulator: %s needs a value\n", name);
                return -1;
            }
            v = argv[++i];
        }
        if (!strcmp(name, "--port")) {
            char *end;
            long p = strtol(v, &end, 10);
            if (*v == '\0' || *end || p < 0 || p > 65535) {
                fprintf(stderr, "twilio-verify-emulator: --port must be 0..65535\n");
                return -1;
            }
            cfg->port = (unsigned)p;
        } else if (!strcmp(name, "--account-sid")) {
            tv_error err = TV_ERROR_INIT;
            if (tv_check_account_sid(v, strlen(v), &err) != 0) {
                fprintf(stderr, "twilio-verify-emulator: --account-sid: %s\n", err.message);
                tv_error_clear(&err);
                return -1;
            }
            snprintf(cfg->account_sid, sizeof cfg->account_sid, "%s", v);
        } else if (!strcmp(name, "--auth-token")) {
            token = v;
        } else if (!strcmp(name, "--api-key")) {
            key = v;
        } else if (!strcmp(name, "--api-secret")) {
            secret = v;
        } else if (!strcmp(name, "--allow-host")) {
            int ok = *v && strlen(v) < sizeof cfg->allow_host;
            for (const char *p = v; ok && *p; p++) ok = *p > 0x20 && *p < 0x7f && *p != '/' && *p != '@';
            if (!ok) {
                fprintf(stderr, "twilio-verify-emulator: --allow-host must be a host name[:port]\n");
                return -1;
            }
            snprintf(cfg->allow_host, sizeof cfg->allow_host, "%s", v);
        } else {
            cfg->seed_path = v;
        }
    }
    if (*token == '\0') {
        fprintf(stderr, "twilio-verify-emulator: --auth-token must not be empty\n");
        return -1;
    }
    if (!key != !secret) {
        fprintf(stderr, "twilio-verify-emulator: --api-key and --api-secret go together\n");
        return -1;
    }
    if (key) {
        tv_error kerr = TV_ERROR_INIT;
        int ok = tv_check_api_key(key, strlen(key), &kerr) == 0 && *secret;
        tv_error_clear(&kerr);
        if (!ok) {
            fprintf(stderr, "twilio-verify-emulator: --api-key must match ^SK[0-9a-fA-F]{32}$ "
                            "and --api-secret must not be empty\n");
            return -1;
        }
    }
    cfg->auth_token = emu_strdup(token);
    cfg->api_key = emu_strdup(key);
    cfg->api_secret = emu_strdup(secret);
    if (!cfg->auth_token || (key && (!cfg->api_key || !cfg->api_secret))) {
        free(cfg->auth_token);
        free(cfg->api_key);
        free(cfg->api_secret);
        fprintf(stderr, "twilio-verify-emulator: out of memory\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--oracle-rules") == 0) return print_rules();
    emu_config cfg;
    memset(&cfg, 0, sizeof cfg);
    int rc = parse_args(argc, argv, &cfg);
    if (rc == 1) {
        usage(stdout);
        return 0;
    }
    if (rc != 0) {
        usage(stderr);
        return 2;
    }

    /* Block the stop signals in every thread (MHD's threads inherit the
     * mask) and receive them synchronously below. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    emu_server srv;
    if (emu_server_init(&srv, &cfg) != 0) return 1;
    if (emu_server_start(&srv) != 0) {
        emu_server_free(&srv);
        return 1;
    }
    printf("%u\n", srv.bound_port);
    fflush(stdout);
    if (cfg.verbose)
        fprintf(stderr, "twilio-verify-emulator: listening on http://127.0.0.1:%u\n", srv.bound_port);

    int sig = 0;
    while (sigwait(&stop, &sig) != 0) {
    }
    emu_server_stop(&srv);
    emu_server_free(&srv);
    return 0;
}
