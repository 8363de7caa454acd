/*
 * LD_PRELOAD shim for benches/share-commit-perf.sh --fsync-delay-us: every fsync() and fdatasync()
 * sleeps SHARD_FSYNC_DELAY_US microseconds (default 0) before doing the real call, to see what a
 * disk with a slower fsync (no write cache, or no power-loss protection) does to the durable rate.
 * Only calls through libc are delayed (Rust's File::sync_data / sync_all are).
 *   cc -shared -fPIC -O2 -o fsync-delay.so fsync-delay.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

static useconds_t delay_us(void) {
    static int cached = -1;
    if (cached < 0) {
        const char *s = getenv("SHARD_FSYNC_DELAY_US");
        cached = s ? atoi(s) : 0;
        if (cached < 0) cached = 0;
    }
    return (useconds_t) cached;
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int)) dlsym(RTLD_NEXT, "fsync");
    if (delay_us()) usleep(delay_us());
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int)) dlsym(RTLD_NEXT, "fdatasync");
    if (delay_us()) usleep(delay_us());
    return real(fd);
}
