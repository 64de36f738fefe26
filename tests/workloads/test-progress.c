/* The progress protocol (gpu-workloads/common/progress.c): every line is one JSON object with
 * the fields docs/progress-protocol.md promises, lines from many threads never interleave,
 * SPOTLAB_PROGRESS_FD is checked, and a reader that goes away turns reporting off without
 * killing the workload. */
#include "progress.h"
#include "test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* Everything readable from @fd until end of file. */
static char *
read_all(int fd)
{
    GString *text = g_string_new(NULL);
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        g_string_append_len(text, buf, n);
    }
    return g_string_free(text, FALSE);
}

typedef struct {
    int fd;
    char *text;
} Reader;

static gpointer
reader_thread(gpointer data)
{
    Reader *r = data;
    r->text = read_all(r->fd);
    return NULL;
}

/* The lines of @text, each parsed; a line that does not parse fails the test. Every line must
 * end with '\n' and be shorter than 4096 bytes. */
static GPtrArray *
parse_lines(const char *text)
{
    GPtrArray *lines = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
    const char *p = text;
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        if (nl == NULL) {
            CU_FAIL("last line not ended with a newline");
            break;
        }
        CU_ASSERT((gsize)(nl - p) + 1 < 4096);
        json_error_t jerr;
        json_t *line = json_loadb(p, (gsize)(nl - p), 0, &jerr);
        if (line == NULL || !json_is_object(line)) {
            fprintf(stderr, "\nnot a JSON object: %.*s (%s)\n", (int)(nl - p), p, jerr.text);
            CU_FAIL("a line is not a JSON object");
            json_decref(line);
        } else {
            g_ptr_array_add(lines, line);
        }
        p = nl + 1;
    }
    return lines;
}

static const char *
event_of(json_t *line)
{
    return json_string_value(json_object_get(line, "event"));
}

static json_int_t
int_of(json_t *line, const char *key)
{
    json_t *v = json_object_get(line, key);
    CU_ASSERT_TRUE(json_is_integer(v));
    return json_integer_value(v);
}

static const char *
str_of(json_t *line, const char *key)
{
    json_t *v = json_object_get(line, key);
    CU_ASSERT_TRUE(json_is_string(v));
    return v ? json_string_value(v) : "";
}

static double
num_of(json_t *line, const char *key)
{
    json_t *v = json_object_get(line, key);
    CU_ASSERT_TRUE(json_is_number(v));
    return json_number_value(v);
}

static void
test_every_event(void)
{
    int fds[2];
    CU_ASSERT_FATAL(pipe(fds) == 0);
    double real0 = (double)g_get_real_time() / 1e6, mono0 = (double)g_get_monotonic_time() / 1e6;
    g_autoptr(GError) error = NULL;
    WorkloadProgress *p = workload_progress_open_fd("train-test", fds[1], &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_TRUE(workload_progress_enabled(p));
    workload_progress_start(p, "tiny", 1000, 123456, 987654321);
    workload_progress_resume(p, 40, "/ckpt/ckpt-000000000040.spck", 0.25);
    workload_progress_step(p, 41, 2.5, 64, 0.125);
    workload_progress_step(p, 42, NAN, 64, INFINITY);
    workload_progress_checkpoint_start(p, 50, "periodic", "/ckpt/ckpt-000000000050.spck");
    workload_progress_checkpoint_end(p, 50, "periodic", "/ckpt/ckpt-000000000050.spck", 4096, 1.5,
                                     TRUE, "ignored when ok");
    workload_progress_checkpoint_end(p, 60, "emergency", "/ckpt/ckpt-000000000060.spck", 0, 0.5,
                                     FALSE, "No space left on device");
    workload_progress_notice(p, "aws", "{\"action\":\"terminate\"}", 1700000120.5);
    workload_progress_notice(p, "sigterm", NULL, 0);
    workload_progress_item(p, 7, 3);
    workload_progress_exit(p, "notice", 60, 0);
    workload_progress_free(p);
    close(fds[1]);
    g_autofree char *text = read_all(fds[0]);
    close(fds[0]);
    double real1 = (double)g_get_real_time() / 1e6, mono1 = (double)g_get_monotonic_time() / 1e6;

    /* The clocks come first on every line, in the documented order. */
    CU_ASSERT_TRUE(g_str_has_prefix(text, "{\"event\":\"hello\",\"time\":"));
    CU_ASSERT_PTR_NULL(strstr(text, ": ")); /* compact */
    g_autoptr(GPtrArray) lines = parse_lines(text);
    const char *events[] = {
        "hello",          "start",          "resume", "step",   "step", "checkpoint_start",
        "checkpoint_end", "checkpoint_end", "notice", "notice", "item", "exit"};
    CU_ASSERT_EQUAL_FATAL(lines->len, G_N_ELEMENTS(events));
    double last_mono = 0;
    for (guint i = 0; i < lines->len; i++) {
        json_t *l = g_ptr_array_index(lines, i);
        CU_ASSERT_STRING_EQUAL(event_of(l), events[i]);
        double t = num_of(l, "time"), m = num_of(l, "mono");
        CU_ASSERT_TRUE(t >= real0 - 1e-6 && t <= real1 + 1e-6);
        CU_ASSERT_TRUE(m >= mono0 - 1e-6 && m <= mono1 + 1e-6);
        CU_ASSERT_TRUE(m >= last_mono);
        last_mono = m;
        /* microseconds: six decimals at most */
        CU_ASSERT_TRUE(fabs(t * 1e6 - round(t * 1e6)) < 0.5);
    }
    json_t *l = g_ptr_array_index(lines, 0);
    CU_ASSERT_EQUAL(int_of(l, "version"), 1);
    CU_ASSERT_STRING_EQUAL(str_of(l, "workload"), "train-test");
    CU_ASSERT_EQUAL(int_of(l, "pid"), getpid());
    l = g_ptr_array_index(lines, 1);
    CU_ASSERT_STRING_EQUAL(str_of(l, "config"), "tiny");
    CU_ASSERT_EQUAL(int_of(l, "total_steps"), 1000);
    CU_ASSERT_EQUAL(int_of(l, "params"), 123456);
    CU_ASSERT_EQUAL(int_of(l, "checkpoint_bytes"), 987654321);
    l = g_ptr_array_index(lines, 2);
    CU_ASSERT_EQUAL(int_of(l, "step"), 40);
    CU_ASSERT_STRING_EQUAL(str_of(l, "path"), "/ckpt/ckpt-000000000040.spck");
    CU_ASSERT_DOUBLE_EQUAL(num_of(l, "seconds"), 0.25, 1e-12);
    l = g_ptr_array_index(lines, 3);
    CU_ASSERT_EQUAL(int_of(l, "step"), 41);
    CU_ASSERT_DOUBLE_EQUAL(num_of(l, "loss"), 2.5, 1e-12);
    CU_ASSERT_EQUAL(int_of(l, "items"), 64);
    CU_ASSERT_DOUBLE_EQUAL(num_of(l, "step_seconds"), 0.125, 1e-12);
    /* JSON has no NaN: a diverged loss is null. */
    l = g_ptr_array_index(lines, 4);
    CU_ASSERT_TRUE(json_is_null(json_object_get(l, "loss")));
    CU_ASSERT_TRUE(json_is_null(json_object_get(l, "step_seconds")));
    l = g_ptr_array_index(lines, 5);
    CU_ASSERT_EQUAL(int_of(l, "step"), 50);
    CU_ASSERT_STRING_EQUAL(str_of(l, "kind"), "periodic");
    CU_ASSERT_STRING_EQUAL(str_of(l, "path"), "/ckpt/ckpt-000000000050.spck");
    l = g_ptr_array_index(lines, 6);
    CU_ASSERT_EQUAL(int_of(l, "bytes"), 4096);
    CU_ASSERT_DOUBLE_EQUAL(num_of(l, "seconds"), 1.5, 1e-12);
    CU_ASSERT_TRUE(json_is_true(json_object_get(l, "ok")));
    CU_ASSERT_PTR_NULL(json_object_get(l, "message"));
    l = g_ptr_array_index(lines, 7);
    CU_ASSERT_EQUAL(int_of(l, "step"), 60);
    CU_ASSERT_STRING_EQUAL(str_of(l, "kind"), "emergency");
    CU_ASSERT_TRUE(json_is_false(json_object_get(l, "ok")));
    CU_ASSERT_STRING_EQUAL(str_of(l, "message"), "No space left on device");
    l = g_ptr_array_index(lines, 8);
    CU_ASSERT_STRING_EQUAL(str_of(l, "source"), "aws");
    CU_ASSERT_STRING_EQUAL(str_of(l, "detail"), "{\"action\":\"terminate\"}");
    CU_ASSERT_DOUBLE_EQUAL(num_of(l, "deadline"), 1700000120.5, 1e-6);
    l = g_ptr_array_index(lines, 9);
    CU_ASSERT_STRING_EQUAL(str_of(l, "source"), "sigterm");
    CU_ASSERT_TRUE(json_is_null(json_object_get(l, "detail")));
    CU_ASSERT_TRUE(json_is_null(json_object_get(l, "deadline")));
    l = g_ptr_array_index(lines, 10);
    CU_ASSERT_EQUAL(int_of(l, "item"), 7);
    CU_ASSERT_EQUAL(int_of(l, "items_done"), 3);
    l = g_ptr_array_index(lines, 11);
    CU_ASSERT_STRING_EQUAL(str_of(l, "reason"), "notice");
    CU_ASSERT_EQUAL(int_of(l, "step"), 60);
    CU_ASSERT_EQUAL(int_of(l, "code"), 0);
}

/* Long and non-UTF-8 strings still give one valid line under 4096 bytes. */
static void
test_long_fields(void)
{
    int fds[2];
    CU_ASSERT_FATAL(pipe(fds) == 0);
    WorkloadProgress *p = workload_progress_open_fd("w", fds[1], NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    g_autofree char *detail = g_strnfill(20000, 'd');
    g_autofree char *controls = g_strnfill(3000, '\x01'); /* 6 bytes each once escaped */
    workload_progress_notice(p, controls, detail, 0);
    workload_progress_checkpoint_end(p, 1, "final", "/ckpt/\xff\xfe-bad.spck", 1, 1, FALSE,
                                     "caf\xc3\xa9 \xe2\x82\xac");
    workload_progress_free(p);
    close(fds[1]);
    g_autofree char *text = read_all(fds[0]);
    close(fds[0]);
    g_autoptr(GPtrArray) lines = parse_lines(text);
    CU_ASSERT_EQUAL_FATAL(lines->len, 3);
    json_t *l = g_ptr_array_index(lines, 1);
    const char *d = str_of(l, "detail");
    CU_ASSERT_TRUE(g_str_has_suffix(d, "..."));
    CU_ASSERT_TRUE(strlen(d) > 100 && strlen(d) < 4096);
    CU_ASSERT_TRUE(g_str_has_prefix(str_of(l, "source"), "\x01"));
    l = g_ptr_array_index(lines, 2);
    CU_ASSERT_TRUE(g_str_has_prefix(str_of(l, "path"), "/ckpt/"));
    CU_ASSERT_TRUE(g_str_has_suffix(str_of(l, "path"), "-bad.spck"));
    CU_ASSERT_STRING_EQUAL(str_of(l, "message"), "caf\xc3\xa9 \xe2\x82\xac");
}

/* Several threads write at once: every line arrives whole. Half the threads share one channel
 * (its mutex orders them), the others have a channel each on the same pipe, as separate
 * processes would (only the single write(2) per line keeps those apart). The lines are long
 * (about 3 KiB), so that a line written in pieces would very likely be cut by another's. */
#define WRITERS    8
#define LINES_EACH 300

typedef struct {
    WorkloadProgress *progress;
    int id;
} Writer;

static gpointer
writer_thread(gpointer data)
{
    Writer *w = data;
    g_autofree char *path = g_strnfill(3000, (char)('a' + w->id));
    for (int i = 0; i < LINES_EACH; i++) {
        if (i % 2 == 0)
            workload_progress_checkpoint_start(w->progress, (guint64)(w->id * 1000000 + i),
                                               "periodic", path);
        else
            workload_progress_step(w->progress, (guint64)(w->id * 1000000 + i), 1.0, (guint64)w->id,
                                   0.5);
    }
    return NULL;
}

static void
test_threads_never_interleave(void)
{
    int fds[2];
    CU_ASSERT_FATAL(pipe(fds) == 0);
    Reader reader = {fds[0], NULL};
    GThread *rt = g_thread_new("reader", reader_thread, &reader);
    WorkloadProgress *shared = workload_progress_open_fd("w", fds[1], NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(shared);
    Writer writers[WRITERS];
    GThread *threads[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        WorkloadProgress *own =
            i < WRITERS / 2 ? shared : workload_progress_open_fd("w", fds[1], NULL);
        writers[i] = (Writer){own, i};
        threads[i] = g_thread_new("writer", writer_thread, &writers[i]);
    }
    for (int i = 0; i < WRITERS; i++) {
        g_thread_join(threads[i]);
        CU_ASSERT_TRUE(workload_progress_enabled(writers[i].progress));
        if (writers[i].progress != shared)
            workload_progress_free(writers[i].progress);
    }
    workload_progress_free(shared);
    close(fds[1]);
    g_thread_join(rt);
    close(fds[0]);

    g_autoptr(GPtrArray) lines = parse_lines(reader.text);
    g_free(reader.text);
    CU_ASSERT_EQUAL(lines->len, 1 + WRITERS / 2 + WRITERS * LINES_EACH);
    int next[WRITERS] = {0};
    gboolean ordered = TRUE, whole = TRUE;
    for (guint i = 0; i < lines->len; i++) {
        json_t *l = g_ptr_array_index(lines, i);
        if (strcmp(event_of(l), "hello") == 0)
            continue;
        json_int_t step = json_integer_value(json_object_get(l, "step"));
        int id = (int)(step / 1000000), n = (int)(step % 1000000);
        if (id < 0 || id >= WRITERS) {
            whole = FALSE;
            continue;
        }
        ordered = ordered && n == next[id];
        next[id] = n + 1;
        if (strcmp(event_of(l), "checkpoint_start") == 0) {
            const char *path = json_string_value(json_object_get(l, "path"));
            g_autofree char *want = g_strnfill(3000, (char)('a' + id));
            whole = whole && path != NULL && strcmp(path, want) == 0;
        }
    }
    CU_ASSERT_TRUE(ordered);
    CU_ASSERT_TRUE(whole);
    for (int i = 0; i < WRITERS; i++)
        CU_ASSERT_EQUAL(next[i], LINES_EACH);
}

static void
expect_env_error(const char *value, int code, const char *fragment)
{
    g_setenv(WORKLOAD_PROGRESS_ENV, value, TRUE);
    g_autoptr(GError) error = NULL;
    g_autoptr(WorkloadProgress) p = workload_progress_open("w", &error);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_TRUE(g_error_matches(error, WORKLOAD_PROGRESS_ERROR, code));
    if (error == NULL || strstr(error->message, fragment) == NULL ||
        strstr(error->message, WORKLOAD_PROGRESS_ENV) == NULL) {
        fprintf(stderr, "\n%s=\"%s\": expected \"%s\", got \"%s\"\n", WORKLOAD_PROGRESS_ENV, value,
                fragment, error ? error->message : "no error");
        CU_FAIL("wrong error for a bad " WORKLOAD_PROGRESS_ENV);
    }
}

static void
test_environment(void)
{
    /* No variable: reporting is off, every call a no-op, NULL accepted too. */
    g_unsetenv(WORKLOAD_PROGRESS_ENV);
    g_autoptr(GError) error = NULL;
    WorkloadProgress *off = workload_progress_open("w", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(off);
    CU_ASSERT_PTR_NULL(error);
    CU_ASSERT_FALSE(workload_progress_enabled(off));
    workload_progress_step(off, 1, 1, 1, 1);
    workload_progress_exit(off, "completed", 1, 0);
    workload_progress_free(off);
    CU_ASSERT_FALSE(workload_progress_enabled(NULL));
    workload_progress_step(NULL, 1, 1, 1, 1);
    workload_progress_free(NULL);

    expect_env_error("", WORKLOAD_PROGRESS_ERROR_VALUE, "expected a file descriptor number");
    expect_env_error("abc", WORKLOAD_PROGRESS_ERROR_VALUE, "\"abc\"");
    expect_env_error("-1", WORKLOAD_PROGRESS_ERROR_VALUE, "expected a file descriptor number");
    expect_env_error("3x", WORKLOAD_PROGRESS_ERROR_VALUE, "expected a file descriptor number");
    expect_env_error(" 3", WORKLOAD_PROGRESS_ERROR_VALUE, "expected a file descriptor number");
    expect_env_error("99999999999", WORKLOAD_PROGRESS_ERROR_VALUE, "expected a file descriptor");

    int fds[2];
    CU_ASSERT_FATAL(pipe(fds) == 0);
    int closed = dup(fds[1]);
    close(closed);
    g_autofree char *closed_s = g_strdup_printf("%d", closed);
    g_autofree char *closed_msg = g_strdup_printf("descriptor %d is not open", closed);
    expect_env_error(closed_s, WORKLOAD_PROGRESS_ERROR_FD, closed_msg);
    g_autofree char *read_s = g_strdup_printf("%d", fds[0]);
    expect_env_error(read_s, WORKLOAD_PROGRESS_ERROR_FD, "open for reading only");

    /* A good one: enabled, the hello line is there. */
    g_autofree char *write_s = g_strdup_printf("%d", fds[1]);
    g_setenv(WORKLOAD_PROGRESS_ENV, write_s, TRUE);
    WorkloadProgress *on = workload_progress_open("env-workload", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(on);
    CU_ASSERT_TRUE(workload_progress_enabled(on));
    workload_progress_free(on);
    g_unsetenv(WORKLOAD_PROGRESS_ENV);
    /* free does not close a descriptor it did not open */
    CU_ASSERT_NOT_EQUAL(fcntl(fds[1], F_GETFD), -1);
    close(fds[1]);
    g_autofree char *text = read_all(fds[0]);
    close(fds[0]);
    g_autoptr(GPtrArray) lines = parse_lines(text);
    CU_ASSERT_EQUAL_FATAL(lines->len, 1);
    CU_ASSERT_STRING_EQUAL(event_of(g_ptr_array_index(lines, 0)), "hello");
    CU_ASSERT_STRING_EQUAL(str_of(g_ptr_array_index(lines, 0), "workload"), "env-workload");
}

/* The reader goes away: the next line fails with EPIPE, reporting turns off, and the SIGPIPE
 * it raised does not kill the process even with the default disposition. */
static void
test_reader_gone(void)
{
    signal(SIGPIPE, SIG_DFL);
    int fds[2];
    CU_ASSERT_FATAL(pipe(fds) == 0);
    WorkloadProgress *p = workload_progress_open_fd("w", fds[1], NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_TRUE(workload_progress_enabled(p));
    close(fds[0]);
    workload_progress_step(p, 1, 1, 1, 1);
    CU_ASSERT_FALSE(workload_progress_enabled(p));
    workload_progress_step(p, 2, 1, 1, 1); /* a no-op now */
    sigset_t pending;
    sigpending(&pending);
    CU_ASSERT_EQUAL(sigismember(&pending, SIGPIPE), 0);
    workload_progress_free(p);
    close(fds[1]);
}

int
main(void)
{
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("progress", NULL, NULL);
    CU_add_test(s, "every event and its fields", test_every_event);
    CU_add_test(s, "long and non-UTF-8 fields", test_long_fields);
    CU_add_test(s, "threads never interleave lines", test_threads_never_interleave);
    CU_add_test(s, WORKLOAD_PROGRESS_ENV, test_environment);
    CU_add_test(s, "the reader goes away", test_reader_gone);
    return test_run_all();
}
