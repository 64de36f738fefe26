/* harness: checkpoint storage that is slow or fails (docs/testbed.md, "Fault catalogue",
 * "Checkpoint storage that is slow or fails"). The supervisor preloads libspotlab-storage-fault.so
 * into the workload; each test runs a real workload under it and checks what happened to the
 * workload's own system calls and what the record says:
 *
 * - every interposed call, and files outside the checkpoint folder untouched: this test program
 *   itself, started by the supervisor as its workload (`test-storage --storage-child`), makes
 *   the calls and checks each result (ENOSPC with a write cut short at the limit, EIO from the
 *   Nth file on, fsync failing, renames into the folder failing, writes capped at the bandwidth
 *   across two threads, the fsync delay), and the record counts the failures it reports;
 * - slow storage: the emergency checkpoint of a 120 MB model does not finish before the kill
 *   (checkpoint_in_time false, the steps lost), where the same notice at full speed is in time;
 * - ENOSPC from the second checkpoint on: spotlab-train reports the failed checkpoints
 *   (checkpoint_end ok false), the emergency checkpoint fails, the next instance resumes from the
 *   previous complete one, and the final state is that of an uninterrupted run;
 * - `spotlab testbed`: the "storage" keys with a shell job (dd), the record, and the errors.
 *
 * Timing: deterministic on a loaded machine: the faults are counted in bytes and files, the
 * slow write takes six times longer than the notice leaves, and times are only checked from
 * below (a capped write never ends early) or against each other.
 * `test-storage NAME` runs only the tests whose name holds NAME.
 */
/* RTLD_DEFAULT. */
#define _GNU_SOURCE
#include "supervisor.h"
#include "harness-util.h"
#include "checkpoint-util.h"
#include "test-util.h"
#include "workload-util.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define CHILD_OK 75 /* the child's checks passed (75: the job goes on to the next instance) */

static const char *train_bin;
static char *self_exe;
static double startup_s = 0.2; /* spotlab-train (tiny): its start to its first step */
static double steps_per_s = 1000;
static double big_startup_s = 0.5; /* the 120 MB model: start to first step, and a step */
static double big_step_s = 0.1;

/* A model whose checkpoint is 120 MB (as in test-faults.c). */
static const char *const big_model[] = {"--set", "hidden=3072", "--set", "batch=1", NULL};

/* ---- helpers ------------------------------------------------------------------------------ */

static gint64
__us(double s)
{
    return (gint64)(s * 1e6);
}

/* The JSON record's member @key of the @i-th element of @list. */
static json_t *
__json_at(json_t *doc, const char *list, guint i, const char *key)
{
    return json_object_get(json_array_get(json_object_get(doc, list), i), key);
}

/* spotlab-train (tiny and the 120 MB model) on this machine, now. */
static void
__calibrate(void)
{
    test_train_measure(train_bin, &startup_s, &steps_per_s);
    g_autofree char *dir = test_tmpdir_new();
    const char *args[] = {"--steps", "4",     "--checkpoint-dir", dir,     "--log-every",
                          "0",       "--set", "hidden=3072",      "--set", "batch=1",
                          NULL};
    gint64 t0 = g_get_monotonic_time();
    g_autoptr(TestWorkload) w = test_train_spawn(train_bin, args);
    g_assert(w != NULL);
    json_t *first = test_workload_wait_event(w, "step", 1, 60);
    gint64 t1 = g_get_monotonic_time();
    json_t *last = test_workload_wait_event(w, "step", 4, 60);
    g_assert(first != NULL && last != NULL && test_workload_wait(w, 60) == 0);
    big_startup_s = (double)(t1 - t0) / 1e6;
    big_step_s = (json_real_value(json_object_get(last, "mono")) -
                  json_real_value(json_object_get(first, "mono"))) /
                 3;
    test_tmpdir_remove(dir);
    fprintf(stderr, "calibration: 120 MB model: startup %.3f s, %.3f s a step\n", big_startup_s,
            big_step_s);
}

/* ---- the child: every interposed call --------------------------------------------------- */

static int child_failures;
static const char *child_instance;

static void G_GNUC_PRINTF(2, 3) __expect(gboolean ok, const char *format, ...)
{
    if (ok)
        return;
    child_failures++;
    va_list ap;
    va_start(ap, format);
    fprintf(stderr, "storage child, instance %s: ", child_instance);
    vfprintf(stderr, format, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* A call that fails with @err: its result and errno, checked at once. */
#define EXPECT_FAILS(call, err)                                                                    \
    do {                                                                                           \
        errno = 0;                                                                                 \
        long long rc_ = (long long)(call);                                                         \
        int e_ = errno;                                                                            \
        __expect(rc_ == -1 && e_ == (err), "%s: expected -1 with %s, got %lld (%s)", #call,        \
                 g_strerror(err), rc_, g_strerror(e_));                                            \
    } while (0)

#define EXPECT_RESULT(call, want)                                                                  \
    do {                                                                                           \
        errno = 0;                                                                                 \
        long long rc_ = (long long)(call);                                                         \
        int e_ = errno;                                                                            \
        __expect(rc_ == (long long)(want), "%s: expected %lld, got %lld (%s)", #call,              \
                 (long long)(want), rc_, rc_ < 0 ? g_strerror(e_) : "no error");                   \
    } while (0)

static guint8 child_buf[300000];

static gint64
__file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (gint64)st.st_size : -1;
}

typedef struct {
    char *path;
    gsize bytes;
} ThreadWrite;

/* Writes @bytes in four write(2) calls to a file of the folder. */
static gpointer
__thread_write(gpointer data)
{
    ThreadWrite *t = data;
    int fd = open(t->path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    __expect(fd >= 0, "open %s: %s", t->path, g_strerror(errno));
    for (int i = 0; fd >= 0 && i < 4; i++)
        EXPECT_RESULT(write(fd, child_buf, t->bytes / 4), t->bytes / 4);
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* ENOSPC after 100000 bytes: the write that crosses it is cut short, later ones fail, renames
 * into the folder fail; the plain (not 64-bit) entry points, found as the program would find
 * them, behave the same. Files outside are untouched. */
static void
__child_enospc(const char *dir)
{
    int (*plain_open)(const char *, int, ...);
    ssize_t (*plain_pwrite)(int, const void *, size_t, long);
    /* Through void *: the usual way to take a function out of dlsym. */
    *(void **)&plain_open = dlsym(RTLD_DEFAULT, "open");
    *(void **)&plain_pwrite = dlsym(RTLD_DEFAULT, "pwrite");
    __expect(plain_open != NULL && plain_pwrite != NULL, "dlsym: open, pwrite");
    if (plain_open == NULL || plain_pwrite == NULL)
        return;
    int out = open("outside-0", O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    EXPECT_RESULT(write(out, child_buf, sizeof child_buf), sizeof child_buf);
    g_autofree char *a = g_build_filename(dir, "a", NULL);
    int fd = plain_open(a, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    __expect(fd >= 0, "open %s: %s", a, g_strerror(errno));
    EXPECT_RESULT(write(fd, child_buf, 64000), 64000);
    EXPECT_RESULT(plain_pwrite(fd, child_buf, 64000, 64000), 36000);
    struct iovec iov[2] = {{child_buf, 1000}, {child_buf, 1000}};
    EXPECT_FAILS(writev(fd, iov, 2), ENOSPC);
    EXPECT_FAILS(pwrite(fd, child_buf, 10, 0), ENOSPC);
    EXPECT_RESULT(fsync(fd), 0);
    EXPECT_RESULT(close(fd), 0);
    __expect(__file_size(a) == 100000, "%s: %" G_GINT64_FORMAT " bytes, expected 100000", a,
             __file_size(a));
    /* Outside, everything still works. */
    EXPECT_RESULT(write(out, child_buf, 1000), 1000);
    EXPECT_RESULT(fsync(out), 0);
    EXPECT_RESULT(close(out), 0);
    __expect(__file_size("outside-0") == (gint64)sizeof child_buf + 1000, "outside-0: size");
    g_autofree char *x = g_build_filename(dir, "x", NULL);
    g_autofree char *a2 = g_build_filename(dir, "a2", NULL);
    EXPECT_FAILS(rename("outside-0", x), ENOSPC);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    EXPECT_FAILS(renameat(AT_FDCWD, "outside-0", dfd, "y"), ENOSPC);
    EXPECT_FAILS(rename(a, a2), ENOSPC);
    EXPECT_RESULT(rename("outside-0", "outside-1"), 0);
    EXPECT_RESULT(fsync(dfd), 0);
    close(dfd);
}

/* EIO from the second file on: the first keeps working; renames within the folder fail once
 * the newest file does. */
static void
__child_eio(const char *dir)
{
    g_autofree char *f1 = g_build_filename(dir, "f1", NULL);
    g_autofree char *f1b = g_build_filename(dir, "f1b", NULL);
    g_autofree char *f2 = g_build_filename(dir, "f2", NULL);
    int fd1 = open(f1, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    EXPECT_RESULT(write(fd1, child_buf, 10000), 10000);
    int fd2 = creat(f2, 0644);
    __expect(fd2 >= 0, "creat %s: %s", f2, g_strerror(errno));
    EXPECT_FAILS(write(fd2, child_buf, 10000), EIO);
    EXPECT_FAILS(pwrite(fd2, child_buf, 10000, 0), EIO);
    EXPECT_RESULT(write(fd1, child_buf, 10000), 10000);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int fd3 = openat(dfd, "f3", O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    struct iovec iov[1] = {{child_buf, 500}};
    EXPECT_FAILS(writev(fd3, iov, 1), EIO);
    EXPECT_FAILS(rename(f1, f1b), EIO);
    /* A file opened to read is not one written: nothing fails on it. */
    int ro = open(f1, O_RDONLY | O_CLOEXEC);
    EXPECT_RESULT(fsync(ro), 0);
    int out = open("outside-1", O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    EXPECT_RESULT(write(out, child_buf, 1000), 1000);
    close(out);
    close(ro);
    close(fd3);
    close(fd2);
    close(fd1);
    close(dfd);
    __expect(__file_size(f1) == 20000, "f1: size");
    __expect(__file_size(f2) == 0, "f2: size");
}

/* fsync fails with EIO once 5000 bytes are written; the folder's own fsync and files outside
 * are not affected. */
static void
__child_fsync_eio(const char *dir)
{
    g_autofree char *g = g_build_filename(dir, "g", NULL);
    int fd = open(g, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    EXPECT_RESULT(write(fd, child_buf, 4000), 4000);
    EXPECT_RESULT(fsync(fd), 0);
    EXPECT_RESULT(write(fd, child_buf, 4000), 4000);
    EXPECT_FAILS(fsync(fd), EIO);
    EXPECT_FAILS(fdatasync(fd), EIO);
    EXPECT_RESULT(close(fd), 0);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    EXPECT_RESULT(fsync(dfd), 0);
    close(dfd);
    int out = open("outside-2", O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    EXPECT_RESULT(write(out, child_buf, 8000), 8000);
    EXPECT_RESULT(fsync(out), 0);
    EXPECT_RESULT(fdatasync(out), 0);
    close(out);
}

/* 1 MB/s and 300 ms per fsync: two threads share the bandwidth; a descriptor made by dup2 is
 * slowed too; outside, writes run at full speed. */
static void
__child_slow(const char *dir)
{
    ThreadWrite t[2] = {{g_build_filename(dir, "t0", NULL), 200000},
                        {g_build_filename(dir, "t1", NULL), 200000}};
    gint64 t0 = g_get_monotonic_time();
    GThread *threads[2];
    for (int i = 0; i < 2; i++)
        threads[i] = g_thread_new("writer", __thread_write, &t[i]);
    for (int i = 0; i < 2; i++)
        g_thread_join(threads[i]);
    double both = (double)(g_get_monotonic_time() - t0) / 1e6;
    __expect(both >= 0.4, "400000 bytes at 1 MB/s in %.3f s, expected >= 0.4 s", both);
    int fd = open(t[0].path, O_WRONLY | O_APPEND | O_CLOEXEC);
    t0 = g_get_monotonic_time();
    EXPECT_RESULT(fsync(fd), 0);
    double sync = (double)(g_get_monotonic_time() - t0) / 1e6;
    __expect(sync >= 0.3, "fsync in %.3f s, expected >= 0.3 s", sync);
    EXPECT_RESULT(dup2(fd, 50), 50);
    t0 = g_get_monotonic_time();
    EXPECT_RESULT(write(50, child_buf, 100000), 100000);
    double duped = (double)(g_get_monotonic_time() - t0) / 1e6;
    __expect(duped >= 0.1, "100000 bytes through dup2 in %.3f s, expected >= 0.1 s", duped);
    close(50);
    close(fd);
    int out = open("outside-3", O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    t0 = g_get_monotonic_time();
    for (int i = 0; i < 3; i++)
        EXPECT_RESULT(write(out, child_buf, sizeof child_buf), sizeof child_buf);
    double outside = (double)(g_get_monotonic_time() - t0) / 1e6;
    /* 900 kB into the page cache: far below the 0.9 s it would take at 1 MB/s. */
    __expect(outside < 0.5, "900000 bytes outside in %.3f s, expected full speed", outside);
    close(out);
    for (int i = 0; i < 2; i++)
        g_free(t[i].path);
}

static int
__storage_child(void)
{
    child_instance = g_getenv("SPOTLAB_INSTANCE");
    const char *dir = g_getenv("SPOTLAB_CHECKPOINT_DIR");
    const char *preload = g_getenv("LD_PRELOAD");
    const char *asan = g_getenv("ASAN_OPTIONS");
    if (child_instance == NULL || dir == NULL)
        return 2;
    memset(child_buf, 'x', sizeof child_buf);
    gboolean faults = strcmp(child_instance, "4") != 0;
    gboolean preloaded = preload != NULL && strstr(preload, "libspotlab-storage-fault.so") != NULL;
    __expect(preloaded == faults, "LD_PRELOAD=%s", preload != NULL ? preload : "(unset)");
    if (faults) {
        __expect(asan != NULL && g_str_has_suffix(asan, "verify_asan_link_order=0"),
                 "ASAN_OPTIONS=%s", asan != NULL ? asan : "(unset)");
        __expect(g_strcmp0(g_getenv("SPOTLAB_STORAGE_FAULT_DIR"), dir) == 0,
                 "SPOTLAB_STORAGE_FAULT_DIR");
    }
    if (strcmp(child_instance, "0") == 0)
        __child_enospc(dir);
    else if (strcmp(child_instance, "1") == 0)
        __child_eio(dir);
    else if (strcmp(child_instance, "2") == 0)
        __child_fsync_eio(dir);
    else if (strcmp(child_instance, "3") == 0)
        __child_slow(dir);
    else
        return child_failures == 0 ? 0 : 3;
    return child_failures == 0 ? CHILD_OK : 3;
}

static void
test_calls(void)
{
    unsigned before = CU_get_number_of_failures();
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *cwd = test_tmpdir_new();
    const char *argv[] = {self_exe, "--storage-child", NULL};
    HarnessInstanceSpec specs[5];
    for (guint i = 0; i < 5; i++)
        harness_instance_spec_init(&specs[i], HARNESS_IMDS_AWS);
    specs[0].storage_fail = HARNESS_STORAGE_FAIL_ENOSPC;
    specs[0].storage_fail_after_bytes = 100000;
    specs[1].storage_fail = HARNESS_STORAGE_FAIL_EIO;
    specs[1].storage_fail_from_checkpoint = 2;
    specs[2].storage_fail = HARNESS_STORAGE_FAIL_FSYNC_EIO;
    specs[2].storage_fail_after_bytes = 5000;
    specs[3].storage_write_mbps = 1.0;
    specs[3].storage_fsync_delay_us = __us(0.3);
    HarnessSupervisorConfig cfg = {
        .argv = argv,
        .working_dir = cwd,
        .schedule = {.instances = specs, .n_instances = 5},
        .checkpoint_dir = dir,
    };
    g_autoptr(HarnessSupervisor) sup = test_supervisor_run(&cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sup);
    const HarnessRunRecord *rec = harness_supervisor_record(sup);
    CU_ASSERT_EQUAL(rec->outcome, HARNESS_RUN_FINISHED);
    CU_ASSERT_EQUAL_FATAL(rec->instances->len, 5);
    /* Each instance's checks passed in the child (75; the last one 0). */
    for (guint i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(test_record_instance(rec, i)->exit_status, i < 4 ? CHILD_OK : 0);
    /* What the library reported: one failure per descriptor, one per rename. */
    const guint faults[] = {4, 3, 1, 0, 0};
    for (guint i = 0; i < 5; i++) {
        const HarnessInstanceRecord *r = test_record_instance(rec, i);
        CU_ASSERT_EQUAL(r->storage_faults, faults[i]);
        CU_ASSERT_EQUAL(r->storage_first_fault_us == HARNESS_TIME_NONE, faults[i] == 0);
        if (faults[i] > 0)
            CU_ASSERT(r->storage_first_fault_us >= r->started_us);
    }
    json_t *doc = harness_supervisor_record_to_json(sup);
    json_t *s0 = json_object_get(
        json_array_get(json_object_get(json_object_get(doc, "schedule"), "instances"), 0),
        "storage");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(s0, "fail")), "enospc");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(s0, "fail_after_bytes")), 100000);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(s0, "fail_from_checkpoint")), 1);
    CU_ASSERT(json_is_null(json_object_get(s0, "write_mbps")));
    json_t *s3 = json_object_get(
        json_array_get(json_object_get(json_object_get(doc, "schedule"), "instances"), 3),
        "storage");
    TEST_ASSERT_REL(json_number_value(json_object_get(s3, "write_mbps")), 1.0, 1e-9);
    TEST_ASSERT_REL(json_number_value(json_object_get(s3, "fsync_delay")), 0.3, 1e-9);
    CU_ASSERT(json_is_null(json_object_get(s3, "fail")));
    json_t *st = __json_at(doc, "instances", 0, "storage");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(st, "faults_injected")), 4);
    CU_ASSERT(json_is_number(json_object_get(st, "first_fault")));
    json_decref(doc);
    test_dump_record_on_failure(sup, before);
    test_assert_nothing_left(rec);
    test_tmpdir_remove(dir);
    test_tmpdir_remove(cwd);
}

/* ---- slow storage: the emergency checkpoint misses the kill ----------------------------- */

static void
test_slow_emergency(void)
{
    unsigned before = CU_get_number_of_failures();
    /* A few steps done when the notice comes; 2.5 s from the notice to the kill: several times
     * what the checkpoint takes at full speed, even in a sanitized build. */
    double notice_after = MAX(1.0, 2 * big_startup_s + 5 * big_step_s);
    double lead = 1.5, grace = 1.0;
    gint64 steps = (gint64)(3 * (notice_after - big_startup_s) / big_step_s) + 20;
    g_autofree char *steps_text = g_strdup_printf("%" G_GINT64_FORMAT, steps);
    g_autofree char *dir = test_tmpdir_new();
    g_auto(GStrv) argv =
        test_strv(train_bin, "--checkpoint-dir", "{checkpoint_dir}", "--notice-cloud", "{cloud}",
                  "--notice-poll", "100ms", "--steps", steps_text, "--log-every", "0", big_model[0],
                  big_model[1], big_model[2], big_model[3], NULL);
    /* 0: 10 MB/s, 200 ms per fsync: the 120 MB checkpoint needs 12 s. 1: the same notice at
     * full speed. 2: the job finishes. */
    HarnessInstanceSpec specs[3];
    for (guint i = 0; i < 3; i++)
        harness_instance_spec_init(&specs[i], HARNESS_IMDS_AWS);
    for (guint i = 0; i < 2; i++) {
        specs[i].notice_after_us = __us(notice_after);
        specs[i].notice_lead_us = __us(lead);
        specs[i].grace_us = __us(grace);
    }
    specs[0].storage_write_mbps = 10;
    specs[0].storage_fsync_delay_us = __us(0.2);
    HarnessSupervisorConfig cfg = {
        .argv = (const char *const *)argv,
        .schedule = {.instances = specs, .n_instances = 3, .restart_delay_us = __us(0.2)},
        .checkpoint_dir = dir,
    };
    g_autoptr(HarnessSupervisor) sup = test_supervisor_finished(&cfg, steps, 3, 2);
    const HarnessRunRecord *rec = harness_supervisor_record(sup);
    const HarnessInterruption *slow = test_record_interruption(rec, 0);
    const HarnessInterruption *fast = test_record_interruption(rec, 1);
    /* Slow: the emergency checkpoint started after the notice and was still being written when
     * the machine went: nothing saved, every step lost. */
    CU_ASSERT(slow->checkpoint_start_us != HARNESS_TIME_NONE);
    CU_ASSERT(slow->checkpoint_start_us >= slow->notice_us);
    CU_ASSERT_EQUAL(slow->checkpoint_end_us, HARNESS_TIME_NONE);
    CU_ASSERT_FALSE(slow->checkpoint_ok);
    CU_ASSERT(slow->killed_us != HARNESS_TIME_NONE);
    CU_ASSERT_EQUAL(slow->torn_step, slow->checkpoint_step);
    CU_ASSERT(slow->last_step > 0);
    CU_ASSERT_EQUAL(slow->saved_step, 0);
    CU_ASSERT_EQUAL(slow->steps_lost, slow->last_step);
    CU_ASSERT_EQUAL(test_record_instance(rec, 0)->end, HARNESS_END_KILLED);
    CU_ASSERT_EQUAL(test_record_instance(rec, 0)->storage_faults, 0); /* slow, not failing */
    /* Full speed: the same notice, in time; the next instance resumes from it. */
    CU_ASSERT(fast->checkpoint_ok);
    CU_ASSERT_EQUAL(fast->killed_us, HARNESS_TIME_NONE);
    CU_ASSERT_EQUAL(fast->steps_lost, 0);
    CU_ASSERT_EQUAL(test_record_instance(rec, 1)->resume_step, -1); /* instance 0 saved nothing */
    CU_ASSERT_EQUAL(test_record_instance(rec, 1)->end, HARNESS_END_STOPPED);
    CU_ASSERT_EQUAL(test_record_instance(rec, 2)->resume_step, fast->checkpoint_step);
    /* The slow write had longer than the fast one took, and still did not finish. */
    if (fast->checkpoint_end_us != HARNESS_TIME_NONE && slow->killed_us != HARNESS_TIME_NONE)
        CU_ASSERT(slow->killed_us - slow->checkpoint_start_us >
                  fast->checkpoint_end_us - fast->checkpoint_start_us);
    json_t *doc = harness_supervisor_record_to_json(sup);
    CU_ASSERT(json_is_false(__json_at(doc, "interruptions", 0, "checkpoint_in_time")));
    CU_ASSERT(json_is_true(__json_at(doc, "interruptions", 0, "checkpoint_torn")));
    CU_ASSERT(json_is_true(__json_at(doc, "interruptions", 1, "checkpoint_in_time")));
    json_t *s0 = json_object_get(
        json_array_get(json_object_get(json_object_get(doc, "schedule"), "instances"), 0),
        "storage");
    TEST_ASSERT_REL(json_number_value(json_object_get(s0, "write_mbps")), 10.0, 1e-9);
    TEST_ASSERT_REL(json_number_value(json_object_get(s0, "fsync_delay")), 0.2, 1e-9);
    json_decref(doc);
    CU_ASSERT(test_same_as_uninterrupted(train_bin, dir, steps, big_model));
    test_dump_record_on_failure(sup, before);
    test_assert_nothing_left(rec);
    test_tmpdir_remove(dir);
}

/* ---- ENOSPC: the checkpoint fails, the job resumes from the previous one ---------------- */

static void
test_enospc_resume(void)
{
    unsigned before = CU_get_number_of_failures();
    double notice_after = MAX(0.6, 2 * startup_s + 0.3);
    /* Several periodic checkpoints before the notice: the first is complete, the others hit a
     * full disk. */
    gint64 every = MAX(10, (gint64)(steps_per_s * (notice_after - startup_s) / 6));
    gint64 steps = (gint64)(steps_per_s * (notice_after + 2.0)) + every;
    g_autofree char *every_text = g_strdup_printf("%" G_GINT64_FORMAT, every);
    g_autofree char *steps_text = g_strdup_printf("%" G_GINT64_FORMAT, steps);
    g_autofree char *dir = test_tmpdir_new();
    g_auto(GStrv) argv = test_strv(train_bin, "--checkpoint-dir", dir, "--notice-cloud", "{cloud}",
                                   "--notice-poll", "100ms", "--checkpoint-every", every_text,
                                   "--steps", steps_text, "--log-every", "0", NULL);
    HarnessInstanceSpec specs[2];
    harness_instance_spec_init(&specs[0], HARNESS_IMDS_AWS);
    harness_instance_spec_init(&specs[1], HARNESS_IMDS_AWS);
    specs[0].notice_after_us = __us(notice_after);
    specs[0].notice_lead_us = __us(1.0);
    specs[0].grace_us = __us(0.5);
    specs[0].storage_fail = HARNESS_STORAGE_FAIL_ENOSPC;
    specs[0].storage_fail_from_checkpoint = 2;
    HarnessSupervisorConfig cfg = {
        .argv = (const char *const *)argv,
        .schedule = {.instances = specs, .n_instances = 2, .restart_delay_us = __us(0.2)},
        .checkpoint_dir = dir,
    };
    g_autoptr(HarnessSupervisor) sup = test_supervisor_finished(&cfg, steps, 2, 1);
    const HarnessRunRecord *rec = harness_supervisor_record(sup);
    const HarnessInstanceRecord *r0 = test_record_instance(rec, 0);
    const HarnessInterruption *in = test_record_interruption(rec, 0);
    /* One complete checkpoint (the first); every later one failed, each file reported once. */
    CU_ASSERT_EQUAL(r0->checkpoints, 1);
    CU_ASSERT(r0->storage_faults >= 1);
    CU_ASSERT(r0->storage_first_fault_us != HARNESS_TIME_NONE);
    /* The emergency checkpoint ended, not ok: spotlab-train says so and exits 1. */
    CU_ASSERT(in->checkpoint_start_us != HARNESS_TIME_NONE);
    CU_ASSERT(in->checkpoint_end_us != HARNESS_TIME_NONE);
    CU_ASSERT_FALSE(in->checkpoint_ok);
    CU_ASSERT_EQUAL(in->killed_us, HARNESS_TIME_NONE);
    CU_ASSERT_EQUAL(r0->end, HARNESS_END_FAILED);
    CU_ASSERT_EQUAL(r0->exit_status, 1);
    CU_ASSERT_PTR_NOT_NULL(r0->exit_reason);
    if (r0->exit_reason != NULL)
        CU_ASSERT_STRING_EQUAL(r0->exit_reason, "error");
    CU_ASSERT_EQUAL(rec->failed_runs, 1);
    /* The job lost what it did since its first checkpoint, and resumed there. */
    CU_ASSERT_EQUAL(in->saved_step, every);
    CU_ASSERT(in->last_step > every);
    CU_ASSERT_EQUAL(in->steps_lost, in->last_step - every);
    CU_ASSERT_EQUAL(test_record_instance(rec, 1)->resume_step, every);
    CU_ASSERT(in->recovered_us > in->restarted_us);
    const char *extra[] = {"--checkpoint-every", every_text, NULL};
    CU_ASSERT(test_same_as_uninterrupted(train_bin, dir, steps, extra));
    json_t *doc = harness_supervisor_record_to_json(sup);
    CU_ASSERT(json_is_false(__json_at(doc, "interruptions", 0, "checkpoint_ok")));
    CU_ASSERT(json_is_false(__json_at(doc, "interruptions", 0, "checkpoint_in_time")));
    CU_ASSERT(json_is_number(__json_at(doc, "interruptions", 0, "checkpoint_end")));
    json_t *s0 = json_object_get(
        json_array_get(json_object_get(json_object_get(doc, "schedule"), "instances"), 0),
        "storage");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(s0, "fail")), "enospc");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(s0, "fail_from_checkpoint")), 2);
    json_t *s1 = json_object_get(
        json_array_get(json_object_get(json_object_get(doc, "schedule"), "instances"), 1),
        "storage");
    CU_ASSERT(json_is_null(json_object_get(s1, "fail")));
    json_decref(doc);
    test_dump_record_on_failure(sup, before);
    test_assert_nothing_left(rec);
    test_tmpdir_remove(dir);
}

/* ---- configurations that cannot run ------------------------------------------------------ */

static void
test_invalid(void)
{
    const char *argv[] = {"/bin/true", NULL};
    HarnessInstanceSpec spec;
    harness_instance_spec_init(&spec, HARNESS_IMDS_AWS);
    CU_ASSERT_FALSE(harness_instance_spec_has_storage_faults(&spec));
    spec.storage_fail = HARNESS_STORAGE_FAIL_EIO;
    CU_ASSERT(harness_instance_spec_has_storage_faults(&spec));
    HarnessSupervisorConfig cfg = {.argv = argv,
                                   .schedule = {.instances = &spec, .n_instances = 1}};
    /* No checkpoint folder for the faults to act in. */
    g_autoptr(GError) error = NULL;
    CU_ASSERT_PTR_NULL(harness_supervisor_new(&cfg, &error));
    CU_ASSERT(g_error_matches(error, HARNESS_SUPERVISOR_ERROR, HARNESS_SUPERVISOR_ERROR_INVALID));
    CU_ASSERT(error != NULL && strstr(error->message, "checkpoint folder") != NULL);
    g_clear_error(&error);
    /* A limit without a failure. */
    cfg.checkpoint_local = TRUE;
    spec.storage_fail = HARNESS_STORAGE_FAIL_NONE;
    spec.storage_fail_after_bytes = 10;
    CU_ASSERT_PTR_NULL(harness_supervisor_new(&cfg, &error));
    CU_ASSERT(g_error_matches(error, HARNESS_SUPERVISOR_ERROR, HARNESS_SUPERVISOR_ERROR_INVALID));
    g_clear_error(&error);
    spec.storage_fail_after_bytes = 0;
    spec.storage_write_mbps = -1;
    CU_ASSERT_PTR_NULL(harness_supervisor_new(&cfg, &error));
    g_clear_error(&error);
    /* The library missing. */
    spec.storage_write_mbps = 5;
    g_setenv("SPOTLAB_STORAGE_FAULT_LIB", "/nonexistent/libspotlab-storage-fault.so", TRUE);
    CU_ASSERT_PTR_NULL(harness_supervisor_new(&cfg, &error));
    CU_ASSERT(error != NULL && strstr(error->message, "/nonexistent/") != NULL);
    g_clear_error(&error);
    g_unsetenv("SPOTLAB_STORAGE_FAULT_LIB");
    /* This build's own library, found beside this program. */
    g_autofree char *lib = harness_storage_fault_library();
    CU_ASSERT_PTR_NOT_NULL_FATAL(lib);
    CU_ASSERT(g_file_test(lib, G_FILE_TEST_IS_REGULAR));
    HarnessSupervisor *sup = harness_supervisor_new(&cfg, &error);
    CU_ASSERT_PTR_NOT_NULL(sup);
    harness_supervisor_free(sup);
    HarnessStorageFailure f;
    CU_ASSERT(harness_storage_failure_parse("fsync-eio", &f) &&
              f == HARNESS_STORAGE_FAIL_FSYNC_EIO);
    CU_ASSERT_FALSE(harness_storage_failure_parse("full", &f));
    CU_ASSERT_STRING_EQUAL(harness_storage_failure_name(HARNESS_STORAGE_FAIL_ENOSPC), "enospc");
}

/* ---- spotlab testbed --------------------------------------------------------------------- */

/* Instance 0: dd into the checkpoint folder stops at the full disk (1 MB), dd outside writes
 * all 2.6 MB; instance 1 finishes. */
static const char dd_job[] = "[ \"$SPOTLAB_INSTANCE\" = 1 ] && exit 0\n"
                             "dd if=/dev/zero of=\"$0/a\" bs=64k count=40 2>/dev/null && exit 3\n"
                             "dd if=/dev/zero of=outside bs=64k count=40 2>/dev/null || exit 4\n"
                             "[ \"$(wc -c < \"$0/a\")\" -eq 1000000 ] || exit 5\n"
                             "[ \"$(wc -c < outside)\" -eq 2621440 ] || exit 6\n"
                             "exit 75\n";

static void
test_cli_run(void)
{
    g_autofree char *dir = test_tmpdir_new();
    g_autofree char *ck = g_build_filename(dir, "ck", NULL);
    g_autofree char *json = g_strdup_printf(
        "{\"instances\": [{\"cloud\": \"aws\", \"storage\": {\"write\": \"40MB/s\", "
        "\"fsync_delay\": \"10ms\", \"fail\": \"enospc\", \"fail_after\": \"1MB\", "
        "\"fail_from_checkpoint\": 1}},\n"
        "  {\"cloud\": \"gcp\", \"storage\": {}}],\n"
        " \"checkpoint_dir\": \"%s\"}",
        ck);
    CU_ASSERT_FATAL(g_mkdir(ck, 0755) == 0);
    /* The job runs in the folder of the test's choosing: "outside" is outside the folder. */
    g_autofree char *cwd = g_get_current_dir();
    CU_ASSERT_FATAL(g_chdir(dir) == 0);
    const char *command[] = {"/bin/sh", "-c", dd_job, ck, NULL};
    json_t *doc = test_run_schedule(dir, json, command, NULL);
    CU_ASSERT_FATAL(g_chdir(cwd) == 0);
    CU_ASSERT_FATAL(doc != NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "outcome")), "finished");
    CU_ASSERT_EQUAL(json_integer_value(__json_at(doc, "instances", 0, "exit_status")), 75);
    json_t *sched = json_object_get(json_object_get(doc, "schedule"), "instances");
    json_t *s0 = json_object_get(json_array_get(sched, 0), "storage");
    TEST_ASSERT_REL(json_number_value(json_object_get(s0, "write_mbps")), 40.0, 1e-9);
    TEST_ASSERT_REL(json_number_value(json_object_get(s0, "fsync_delay")), 0.01, 1e-9);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(s0, "fail")), "enospc");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(s0, "fail_after_bytes")), 1000000);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(s0, "fail_from_checkpoint")), 1);
    json_t *s1 = json_object_get(json_array_get(sched, 1), "storage");
    CU_ASSERT(json_is_null(json_object_get(s1, "write_mbps")));
    CU_ASSERT(json_is_null(json_object_get(s1, "fail")));
    /* dd's failed write, reported by the library. */
    json_t *st0 = __json_at(doc, "instances", 0, "storage");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(st0, "faults_injected")), 1);
    json_t *st1 = __json_at(doc, "instances", 1, "storage");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(st1, "faults_injected")), 0);
    json_decref(doc);
    test_tmpdir_remove(dir);
}

static void
test_cli_schedules(void)
{
    static const TestBadSchedule cases[] = {
        {"{\"instances\": [{\"cloud\": \"aws\", \"storage\": {\"write\": \"5MB\"}}], "
         "\"checkpoint_dir\": \"ck\"}",
         ":1:54: instances[0].storage.write: expected a write bandwidth > 0 like \"5MB/s\""},
        {"{\"instances\": [{\"cloud\": \"aws\", \"storage\": {\"write\": \"0MB/s\"}}], "
         "\"checkpoint_dir\": \"ck\"}",
         ":1:54: instances[0].storage.write: expected a write bandwidth > 0"},
        {"{\"instances\": [{\"cloud\": \"aws\", \"storage\": {\"fsync_delay\": \"2h\"}}], "
         "\"checkpoint_dir\": \"ck\"}",
         ":1:60: instances[0].storage.fsync_delay: expected a delay of at most 1h"},
        {"{\"instances\": [{\"cloud\": \"aws\", \"storage\": {\"fail\": \"full\"}}], "
         "\"checkpoint_dir\": \"ck\"}",
         ":1:53: instances[0].storage.fail: expected \"enospc\", \"eio\" (writes fail), "
         "\"fsync-eio\" (fsync fails) or \"none\", got \"full\""},
        {"{\"instances\": [{\"cloud\": \"aws\", \"storage\": {\"fail_after\": \"5MB\"}}], "
         "\"checkpoint_dir\": \"ck\"}",
         ":1:59: instances[0].storage.fail_after: needs a failure (fail)"},
        {"{\"instances\": [{\"cloud\": \"aws\", \"storage\": {\"fail\": \"eio\", "
         "\"fail_after\": -3}}], \"checkpoint_dir\": \"ck\"}",
         ":1:74: instances[0].storage.fail_after: expected a size >= 0 like \"1MB\""},
        {"{\"instances\": [{\"cloud\": \"aws\", \"storage\": {\"fail\": \"eio\", "
         "\"fail_from_checkpoint\": 0}}], \"checkpoint_dir\": \"ck\"}",
         ":1:84: instances[0].storage.fail_from_checkpoint: expected the checkpoint (file) the "
         "failure begins with (an integer in 1..2147483647), got 0"},
        {"{\"instances\": [{\"cloud\": \"aws\", \"storage\": {\"speed\": 3}}], "
         "\"checkpoint_dir\": \"ck\"}",
         ":1:45: instances[0].storage.speed: unknown key"},
        {"{\"instances\": [{\"cloud\": \"aws\", \"storage\": 5}], \"checkpoint_dir\": \"ck\"}",
         ":1:44: instances[0].storage: expected checkpoint storage faults"},
        {"{\"instances\": [{\"cloud\": \"aws\", \"storage\": {\"fail\": \"eio\"}}]}",
         ":1:44: instances[0].storage: needs a checkpoint folder: a top-level "
         "\"checkpoint_dir\", or \"checkpoint_storage\": \"local\""},
    };
    g_autofree char *dir = test_tmpdir_new();
    test_bad_schedules(dir, cases, G_N_ELEMENTS(cases));
    test_tmpdir_remove(dir);
}

int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--storage-child") == 0)
        return __storage_child();
    train_bin = g_getenv("SPOTLAB_TRAIN_BIN");
    if (train_bin == NULL) {
        fprintf(stderr, "SPOTLAB_TRAIN_BIN is not set: run through meson test\n");
        return 1;
    }
    self_exe = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *lib = harness_storage_fault_library();
    if (self_exe == NULL || lib == NULL) {
        fprintf(stderr, "storage faults need Linux (/proc/self/exe, LD_PRELOAD): skipped\n");
        return TEST_SKIP;
    }
    const char *only = argc > 1 ? argv[1] : NULL;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    static const struct {
        const char *name;
        CU_TestFunc func;
        gboolean train;
    } tests[] = {
        {"every interposed call, and files outside untouched", test_calls, FALSE},
        {"slow storage: the emergency checkpoint misses the kill", test_slow_emergency, TRUE},
        {"ENOSPC: the checkpoint fails, the job resumes from the previous one", test_enospc_resume,
         TRUE},
        {"configurations that cannot run", test_invalid, FALSE},
        {"spotlab testbed: a storage schedule with dd", test_cli_run, FALSE},
        {"spotlab testbed: bad storage schedules", test_cli_schedules, FALSE},
    };
    CU_pSuite s = CU_add_suite("storage", NULL, NULL);
    gboolean trains = FALSE;
    for (gsize i = 0; i < G_N_ELEMENTS(tests); i++)
        if (only == NULL || strstr(tests[i].name, only) != NULL) {
            CU_add_test(s, tests[i].name, tests[i].func);
            trains |= tests[i].train;
        }
    if (trains)
        __calibrate();
    int rc = test_run_all();
    g_free(self_exe);
    return rc;
}
