/* spotlab-train: the training workload (docs/workloads.md).
 *
 * Trains the language model of model.h on the project's own corpus, on the C reference path or
 * (spotlab-train-cuda) on the GPU, and behaves as production training should on spot
 * capacity: it resumes from the newest complete checkpoint in its folder, writes periodic
 * checkpoints (synchronously or while training goes on), reacts to SIGTERM and to the cloud's
 * metadata notice with an emergency checkpoint and a clean exit, and reports what it does as
 * JSON lines (docs/progress-protocol.md).
 *
 * Exit status: 0 training finished; 75 (EX_TEMPFAIL) stopped by a notice after a complete
 * checkpoint, so a restart resumes; 1 a runtime failure (a checkpoint could not be written, a
 * GPU error); 2 bad usage or input.
 */
#include "checkpoint.h"
#include "corpus.h"
#include "model.h"
#include "interval.h"
#include "notice.h"
#include "progress.h"
#include "rng.h"
#include "train-config.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    TRAIN_EXIT_OK = 0,
    TRAIN_EXIT_FAILED = 1,
    TRAIN_EXIT_USAGE = 2,
    TRAIN_EXIT_NOTICE = 75,
};

/* The corpus: this many tokens generated from the config's seed. */
#define TRAIN_CORPUS_TOKENS (1u << 20)
/* Batches are drawn from this stream of the seed's root stream; the initial parameters from
 * others (model.c), so the two never share values. */
#define TRAIN_RNG_STREAM_BATCHES 7

#define CKPT_SECTIONS 5

#define TRAIN_MAIN_ERROR (train_main_error_quark())
static G_DEFINE_QUARK(spotlab - train - error - quark, train_main_error)

    typedef struct {
    TrainConfig cfg;
    char *config_json;
    const TrainBackend *backend;
    TrainModel *model;
    guint8 *corpus;
    guint8 *batch;
    TrainPosition pos;
    guint64 params;

    WorkloadProgress *progress;
    WorkloadNoticeWatcher *watcher;
    WorkloadCheckpointWriter *writer;
    char *dir;
    gboolean async;

    GMutex lock;              /* guards the fields below, shared with the writer thread */
    const char *pending_kind; /* kind of the write in flight */
    guint64 last_saved_step;  /* newest checkpoint known complete; G_MAXUINT64 when none */
    gboolean last_write_failed;
} Trainer;

static char *
__checkpoint_path(const Trainer *t, guint64 step)
{
    g_autofree char *name = g_strdup_printf("ckpt-%012" G_GUINT64_FORMAT ".spck", step);
    return g_build_filename(t->dir, name, NULL);
}

/* Writer thread: a write finished. */
static void
__checkpoint_done(guint64 step, const WorkloadCheckpointInfo *info, const GError *error,
                  gpointer user_data)
{
    Trainer *t = user_data;
    g_mutex_lock(&t->lock);
    const char *kind = t->pending_kind;
    if (error == NULL)
        t->last_saved_step = step;
    t->last_write_failed = error != NULL;
    g_mutex_unlock(&t->lock);
    g_autofree char *path = __checkpoint_path(t, step);
    workload_progress_checkpoint_end(
        t->progress, step, kind, info != NULL ? info->path : path, info != NULL ? info->bytes : 0,
        info != NULL ? info->seconds : 0.0, error == NULL, error != NULL ? error->message : NULL);
    if (error != NULL)
        fprintf(stderr, "spotlab-train: checkpoint of step %" G_GUINT64_FORMAT " failed: %s\n",
                step, error->message);
}

/* Copies the state into the writer's buffers and hands it over; with @wait, returns when the
 * file is complete. */
static gboolean
__checkpoint(Trainer *t, const char *kind, gboolean wait, GError **error)
{
    gsize json_len = strlen(t->config_json);
    memcpy(workload_checkpoint_writer_buffer(t->writer, 0, "config", json_len), t->config_json,
           json_len);
    train_position_encode(
        &t->pos, workload_checkpoint_writer_buffer(t->writer, 1, "position", TRAIN_POSITION_SIZE));
    guint64 bytes = t->params * sizeof(float);
    float *p = workload_checkpoint_writer_buffer(t->writer, 2, "params", bytes);
    float *m = workload_checkpoint_writer_buffer(t->writer, 3, "adam_m", bytes);
    float *v = workload_checkpoint_writer_buffer(t->writer, 4, "adam_v", bytes);
    char err[512];
    if (t->backend->get_state(t->model, p, m, v, err, sizeof err) != 0) {
        g_set_error(error, TRAIN_MAIN_ERROR, 0, "copying the state for a checkpoint: %s", err);
        return FALSE;
    }
    g_mutex_lock(&t->lock);
    t->pending_kind = kind;
    g_mutex_unlock(&t->lock);
    g_autofree char *path = __checkpoint_path(t, t->pos.step);
    workload_progress_checkpoint_start(t->progress, t->pos.step, kind, path);
    workload_checkpoint_writer_submit(t->writer, t->pos.step, CKPT_SECTIONS);
    if (!wait)
        return TRUE;
    return workload_checkpoint_writer_wait(t->writer, error);
}

/* The first setting in which @a and @b differ, as "hidden: 128 in the checkpoint, 256 asked",
 * or NULL when they agree. */
static char *
__config_difference(const TrainConfig *a, const TrainConfig *b)
{
    json_t *ja = train_config_to_json_value(a), *jb = train_config_to_json_value(b);
    char *difference = NULL;
    for (const char *const *f = train_config_fields(); *f != NULL && difference == NULL; f++) {
        if (strcmp(*f, "name") == 0)
            continue;
        json_t *va = json_object_get(ja, *f), *vb = json_object_get(jb, *f);
        if (json_equal(va, vb))
            continue;
        g_autofree char *ta = json_dumps(va, JSON_ENCODE_ANY);
        g_autofree char *tb = json_dumps(vb, JSON_ENCODE_ANY);
        difference = g_strdup_printf("%s: %s in the checkpoint, %s asked", *f, ta, tb);
    }
    json_decref(ja);
    json_decref(jb);
    return difference;
}

/* Loads @ckpt into the trainer: its configuration replaces the one asked for, unless the user
 * asked for a different one explicitly. */
/* A rank of a gang (SPOTLAB_GANG_RANK and SPOTLAB_GANG_SIZE, as the testbed sets them) whose
 * folder is .../rank-R: its peers' folders, .../rank-J for the other ranks, whose checkpoints
 * the resume must match. NULL otherwise. */
static char **
__gang_peers(const char *dir)
{
    const char *rank_text = g_getenv("SPOTLAB_GANG_RANK"),
               *size_text = g_getenv("SPOTLAB_GANG_SIZE");
    guint64 rank = 0, size = 0;
    if (rank_text == NULL || size_text == NULL ||
        !g_ascii_string_to_unsigned(rank_text, 10, 0, 1023, &rank, NULL) ||
        !g_ascii_string_to_unsigned(size_text, 10, 2, 1024, &size, NULL) || rank >= size)
        return NULL;
    g_autofree char *base = g_path_get_basename(dir);
    g_autofree char *own = g_strdup_printf("rank-%" G_GUINT64_FORMAT, rank);
    if (strcmp(base, own) != 0)
        return NULL;
    g_autofree char *parent = g_path_get_dirname(dir);
    char **peers = g_new0(char *, size);
    for (guint64 j = 0, n = 0; j < size; j++) {
        g_autofree char *name = g_strdup_printf("rank-%" G_GUINT64_FORMAT, j);
        if (j != rank)
            peers[n++] = g_build_filename(parent, name, NULL);
    }
    return peers;
}

static gboolean
__resume(Trainer *t, WorkloadCheckpoint *ckpt, gboolean config_given, GError **error)
{
    const char *path = workload_checkpoint_path(ckpt);
    guint64 size = 0;
    const char *json = workload_checkpoint_section(ckpt, "config", G_MAXUINT64, &size, error);
    if (json == NULL)
        return FALSE;
    TrainConfig saved;
    g_autoptr(GError) local = NULL;
    if (!train_config_from_json(json, (gssize)size, &saved, &local)) {
        g_set_error(error, TRAIN_MAIN_ERROR, 0, "%s: section config: %s", path, local->message);
        return FALSE;
    }
    if (config_given) {
        g_autofree char *difference = __config_difference(&saved, &t->cfg);
        if (difference != NULL) {
            g_set_error(error, TRAIN_MAIN_ERROR, 0,
                        "%s was made with a different configuration (%s); resume without "
                        "--preset/--set/--steps, or train into another --checkpoint-dir",
                        path, difference);
            return FALSE;
        }
    }
    t->cfg = saved;
    t->params = train_param_count(&t->cfg);
    const void *pos =
        workload_checkpoint_section(ckpt, "position", TRAIN_POSITION_SIZE, NULL, error);
    if (pos == NULL)
        return FALSE;
    if (!train_position_decode(pos, TRAIN_POSITION_SIZE, &t->pos, &local)) {
        g_set_error(error, TRAIN_MAIN_ERROR, 0, "%s: section position: %s", path, local->message);
        return FALSE;
    }
    return TRUE;
}

static void
__trainer_clear(Trainer *t)
{
    workload_checkpoint_writer_free(t->writer);
    workload_notice_watcher_free(t->watcher);
    if (t->model != NULL)
        t->backend->destroy(t->model);
    workload_progress_free(t->progress);
    g_free(t->corpus);
    g_free(t->batch);
    g_free(t->config_json);
    g_free(t->dir);
    g_mutex_clear(&t->lock);
}

int
main(int argc, char **argv)
{
    g_autofree char *preset = NULL, *dir = NULL, *resume = NULL, *device = NULL;
    g_autofree char *notice_cloud = NULL, *notice_poll = NULL, *notice_endpoint = NULL;
    g_autofree char *interval_text = NULL;
    g_auto(GStrv) sets = NULL;
    g_autoptr(WorkloadCheckpoint) ckpt = NULL;
    gint64 steps = -1, every = 0, keep = 3, hang_at = -1, log_every = -1;
    gboolean async = FALSE, print_config = FALSE, no_emergency = FALSE;
    GOptionEntry entries[] = {
        {"preset", 'p', 0, G_OPTION_ARG_STRING, &preset,
         "model size: tiny (default), small, 1g, large", "NAME"},
        {"set", 's', 0, G_OPTION_ARG_STRING_ARRAY, &sets,
         "change one setting of the preset (repeatable; see --print-config)", "KEY=VALUE"},
        {"steps", 'n', 0, G_OPTION_ARG_INT64, &steps,
         "train this many steps (the schedule length; the warmup is no longer than the run)", "N"},
        {"checkpoint-dir", 'd', 0, G_OPTION_ARG_FILENAME, &dir,
         "where checkpoints live; training resumes from the newest complete one (default: "
         "checkpoints)",
         "DIR"},
        {"resume", 0, 0, G_OPTION_ARG_FILENAME, &resume,
         "resume from this checkpoint file instead of the newest in DIR", "FILE"},
        {"checkpoint-every", 'e', 0, G_OPTION_ARG_INT64, &every,
         "write a checkpoint every N steps (default 0: only on a notice and at the end)", "N"},
        {"checkpoint-interval", 0, 0, G_OPTION_ARG_STRING, &interval_text,
         "also write a checkpoint when this much time has passed since training started in this "
         "process or since the last checkpoint ended (e.g. 10s; default: off)",
         "INTERVAL"},
        {"no-emergency-checkpoint", 0, 0, G_OPTION_ARG_NONE, &no_emergency,
         "do not react to notices: no metadata watching, and SIGTERM and SIGINT keep their "
         "default action (the process dies at once), as a job without a handler does",
         NULL},
        {"keep", 'k', 0, G_OPTION_ARG_INT64, &keep, "keep the newest N checkpoints (default 3)",
         "N"},
        {"async", 'a', 0, G_OPTION_ARG_NONE, &async,
         "write periodic checkpoints while training goes on", NULL},
        {"device", 0, 0, G_OPTION_ARG_STRING, &device,
         "cpu (the reference path) or cuda (default: cuda in spotlab-train-cuda)", "DEV"},
        {"notice-cloud", 0, 0, G_OPTION_ARG_STRING, &notice_cloud,
         "watch this cloud's metadata service for a termination notice: none (default), aws, "
         "gcp, azure",
         "CLOUD"},
        {"notice-poll", 0, 0, G_OPTION_ARG_STRING, &notice_poll,
         "how often to ask the metadata service (default 5s)", "INTERVAL"},
        {"notice-endpoint", 0, 0, G_OPTION_ARG_STRING, &notice_endpoint,
         "metadata service address (default: the cloud's environment variable, then its usual "
         "address)",
         "URL"},
        {"log-every", 0, 0, G_OPTION_ARG_INT64, &log_every,
         "print the loss on stderr every N steps (default: ten times a run; 0: never)", "N"},
        {"hang-at", 0, 0, G_OPTION_ARG_INT64, &hang_at,
         "stop making progress after step N and its checkpoint, as a hung process would (for "
         "fault tests)",
         "N"},
        {"print-config", 0, 0, G_OPTION_ARG_NONE, &print_config,
         "print the configuration as JSON and exit", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new("- train the workload model");
    g_option_context_set_summary(
        context, "Trains a character-level language model on the project's own corpus, with "
                 "checkpoints,\nresume, and an emergency checkpoint on a termination notice.");
    g_option_context_set_description(
        context, "Progress goes as JSON lines to the descriptor named by SPOTLAB_PROGRESS_FD.\n"
                 "Exit status: 0 finished, 75 stopped by a notice with a complete checkpoint,\n"
                 "1 runtime failure, 2 bad usage or input.\n");
    g_option_context_add_main_entries(context, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(context, &argc, &argv, &error)) {
        fprintf(stderr, "spotlab-train: %s\n", error->message);
        return TRAIN_EXIT_USAGE;
    }
    if (argc > 1) {
        fprintf(stderr, "spotlab-train: unexpected argument '%s'\n", argv[1]);
        return TRAIN_EXIT_USAGE;
    }
    /* A progress reader that went away must not kill training: writes then fail with EPIPE. */
    signal(SIGPIPE, SIG_IGN);

    Trainer t = {.last_saved_step = G_MAXUINT64, .async = async};
    g_mutex_init(&t.lock);
    int status = TRAIN_EXIT_USAGE;
    gboolean config_given = preset != NULL || sets != NULL || steps >= 0;

    if (train_config_preset(preset != NULL ? preset : "tiny", &t.cfg) != 0) {
        fprintf(stderr, "spotlab-train: --preset: unknown preset '%s' (tiny, small, 1g, large)\n",
                preset);
        goto out;
    }
    for (int i = 0; sets != NULL && sets[i] != NULL; i++) {
        const char *eq = strchr(sets[i], '=');
        if (eq == NULL) {
            fprintf(stderr, "spotlab-train: --set: expected KEY=VALUE, got '%s'\n", sets[i]);
            goto out;
        }
        g_autofree char *key = g_strndup(sets[i], (gsize)(eq - sets[i]));
        if (!train_config_set(&t.cfg, key, eq + 1, &error)) {
            fprintf(stderr, "spotlab-train: --set %s: %s\n", sets[i], error->message);
            goto out;
        }
    }
    if (steps >= 0) {
        if (steps == 0) {
            fprintf(stderr, "spotlab-train: --steps: expected a positive number of steps\n");
            goto out;
        }
        t.cfg.total_steps = (guint64)steps;
        /* A short run has a short warmup rather than an error. */
        t.cfg.warmup_steps = (guint32)MIN((guint64)t.cfg.warmup_steps, t.cfg.total_steps);
    }
    if (!train_config_validate(&t.cfg, &error)) {
        fprintf(stderr, "spotlab-train: %s\n", error->message);
        goto out;
    }
    if (print_config) {
        g_autofree char *json = train_config_to_json(&t.cfg);
        printf("%s\n", json);
        status = TRAIN_EXIT_OK;
        goto out;
    }
    if (every < 0 || keep < 0) {
        fprintf(stderr, "spotlab-train: --checkpoint-every and --keep take numbers >= 0\n");
        goto out;
    }
    gint64 interval_us = 0;
    if (interval_text != NULL &&
        (!workload_parse_interval(interval_text, &interval_us) || interval_us <= 0)) {
        fprintf(stderr,
                "spotlab-train: --checkpoint-interval: expected an interval like 10s or 500ms, "
                "got '%s'\n",
                interval_text);
        goto out;
    }
    WorkloadNoticeConfig notice = {0};
    if (no_emergency && notice_cloud != NULL && strcmp(notice_cloud, "none") != 0) {
        fprintf(stderr,
                "spotlab-train: --no-emergency-checkpoint and --notice-cloud %s: "
                "expected one of them\n",
                notice_cloud);
        goto out;
    }
    if (notice_cloud != NULL && !workload_cloud_parse(notice_cloud, &notice.cloud)) {
        fprintf(stderr,
                "spotlab-train: --notice-cloud: expected none, aws, gcp or azure, got "
                "'%s'\n",
                notice_cloud);
        goto out;
    }
    if (notice_poll != NULL && !workload_parse_interval(notice_poll, &notice.poll_interval_us)) {
        fprintf(stderr,
                "spotlab-train: --notice-poll: expected an interval like 5s or 500ms, "
                "got '%s'\n",
                notice_poll);
        goto out;
    }
    notice.endpoint = notice_endpoint;

    if (device == NULL) {
        /* spotlab-train-cuda trains on the GPU unless told otherwise. */
        t.backend = train_backend_cuda() != NULL ? train_backend_cuda() : &train_backend_cpu;
    } else if (strcmp(device, "cpu") == 0) {
        t.backend = &train_backend_cpu;
    } else if (strcmp(device, "cuda") == 0) {
        t.backend = train_backend_cuda();
        if (t.backend == NULL) {
            fprintf(stderr, "spotlab-train: --device cuda: this program was built without CUDA "
                            "(use spotlab-train-cuda)\n");
            goto out;
        }
    } else {
        fprintf(stderr, "spotlab-train: --device: expected cpu or cuda, got '%s'\n", device);
        goto out;
    }

    t.progress = workload_progress_open("spotlab-train", &error);
    if (t.progress == NULL) {
        fprintf(stderr, "spotlab-train: %s\n", error->message);
        goto out;
    }

    /* Resume: an explicit file must be good; in the folder, damaged files are skipped with a
     * warning and the newest complete checkpoint is used. */
    t.dir = g_strdup(dir != NULL ? dir : "checkpoints");
    /* The restore's time: reading the file, and putting its state into the model; not what a
     * fresh start does too (creating the model, generating the corpus). */
    gint64 restore_us = 0, mark = g_get_monotonic_time();
    if (resume != NULL) {
        ckpt = workload_checkpoint_load(resume, &error);
        if (ckpt == NULL) {
            fprintf(stderr, "spotlab-train: --resume: %s\n", error->message);
            goto out;
        }
    } else if (g_file_test(t.dir, G_FILE_TEST_IS_DIR)) {
        g_autoptr(GPtrArray) rejected = g_ptr_array_new_with_free_func(g_free);
        g_auto(GStrv) peers = __gang_peers(t.dir);
        ckpt = workload_checkpoint_load_latest_common(t.dir, (const char *const *)peers, rejected,
                                                      &error);
        for (guint i = 0; i < rejected->len; i++)
            fprintf(stderr, "spotlab-train: skipping a damaged checkpoint: %s\n",
                    (const char *)g_ptr_array_index(rejected, i));
        if (ckpt == NULL) {
            if (!g_error_matches(error, WORKLOAD_CHECKPOINT_ERROR,
                                 WORKLOAD_CHECKPOINT_ERROR_NONE)) {
                fprintf(stderr, "spotlab-train: %s\n", error->message);
                status = TRAIN_EXIT_FAILED;
                goto out;
            }
            g_clear_error(&error);
        }
    }
    if (ckpt != NULL && !__resume(&t, ckpt, config_given, &error)) {
        fprintf(stderr, "spotlab-train: %s\n", error->message);
        goto out;
    }
    restore_us += g_get_monotonic_time() - mark;
    t.config_json = train_config_to_json(&t.cfg);
    t.params = train_param_count(&t.cfg);

    /* The model starts from the seed's parameters, or from the checkpoint's state. */
    {
        g_autofree float *init = g_new(float, t.params);
        train_init_params(&t.cfg, init);
        char err[512];
        t.model = t.backend->create(&t.cfg, init, err, sizeof err);
        if (t.model == NULL) {
            fprintf(stderr, "spotlab-train: %s: %s\n", t.backend->name, err);
            status = TRAIN_EXIT_FAILED;
            goto out;
        }
    }
    if (ckpt != NULL) {
        mark = g_get_monotonic_time();
        guint64 bytes = t.params * sizeof(float);
        const float *p = workload_checkpoint_section(ckpt, "params", bytes, NULL, &error);
        const float *m =
            p ? workload_checkpoint_section(ckpt, "adam_m", bytes, NULL, &error) : NULL;
        const float *v =
            m ? workload_checkpoint_section(ckpt, "adam_v", bytes, NULL, &error) : NULL;
        char err[512];
        if (v == NULL) {
            fprintf(stderr, "spotlab-train: %s\n", error->message);
            goto out;
        }
        if (t.backend->set_state(t.model, p, m, v, err, sizeof err) != 0) {
            fprintf(stderr, "spotlab-train: %s: %s\n", t.backend->name, err);
            status = TRAIN_EXIT_FAILED;
            goto out;
        }
        t.last_saved_step = t.pos.step;
        restore_us += g_get_monotonic_time() - mark;
    } else {
        SimRng root;
        sim_rng_init(&root, t.cfg.seed);
        t.pos = (TrainPosition){0};
        sim_rng_split(&root, TRAIN_RNG_STREAM_BATCHES, &t.pos.rng);
    }

    t.corpus = train_corpus_generate(t.cfg.seed, TRAIN_CORPUS_TOKENS);
    t.batch = g_new(guint8, (gsize)t.cfg.batch * (t.cfg.context + 1));
    t.writer = workload_checkpoint_writer_new(t.dir, (guint)keep, __checkpoint_done, &t);

    guint64 ckpt_bytes = 3 * t.params * sizeof(float);
    workload_progress_start(t.progress, t.cfg.name, t.cfg.total_steps, t.params, ckpt_bytes);
    if (ckpt != NULL)
        workload_progress_resume(t.progress, t.pos.step, workload_checkpoint_path(ckpt),
                                 (double)restore_us / G_USEC_PER_SEC);
    g_clear_pointer(&ckpt, workload_checkpoint_free);

    /* Notices are watched from here on: before, there is nothing to save. Without emergency
     * checkpoints SIGTERM and SIGINT keep their default action, and no cloud is watched. */
    if (!no_emergency)
        workload_notice_install_signal_handlers();
    t.watcher = workload_notice_watcher_new(&notice, NULL, NULL, &error);
    if (t.watcher == NULL) {
        fprintf(stderr, "spotlab-train: %s\n", error->message);
        goto out;
    }
    if (log_every < 0)
        log_every = (gint64)MAX(t.cfg.total_steps / 10, 1);

    const char *reason = "completed";
    status = TRAIN_EXIT_OK;
    /* --checkpoint-interval counts from here (the state is restored, training starts) and from
     * the end of each checkpoint, as the simulator's periodic checkpoints do. */
    gint64 interval_mark = g_get_monotonic_time();
    while (t.pos.step < t.cfg.total_steps) {
        WorkloadNotice seen = {0};
        if (workload_notice_pending(t.watcher, &seen)) {
            workload_progress_notice(t.progress, seen.source, seen.detail, seen.deadline);
            fprintf(stderr, "spotlab-train: notice from %s at step %" G_GUINT64_FORMAT "\n",
                    seen.source, t.pos.step);
            workload_notice_clear(&seen);
            reason = "notice";
            break;
        }
        gint64 start = g_get_monotonic_time();
        if (!train_corpus_sample_batch(t.corpus, TRAIN_CORPUS_TOKENS, &t.cfg, &t.pos.rng, t.batch,
                                       &error)) {
            fprintf(stderr, "spotlab-train: %s\n", error->message);
            status = TRAIN_EXIT_FAILED;
            reason = "error";
            break;
        }
        float loss = 0;
        char err[512];
        if (t.backend->step(t.model, t.batch, t.pos.adam_t + 1, train_lr_at(&t.cfg, t.pos.step),
                            &loss, err, sizeof err) != 0) {
            fprintf(stderr, "spotlab-train: %s: step %" G_GUINT64_FORMAT ": %s\n", t.backend->name,
                    t.pos.step + 1, err);
            status = TRAIN_EXIT_FAILED;
            reason = "error";
            break;
        }
        t.pos.step++;
        t.pos.adam_t++;
        t.pos.tokens_seen += (guint64)t.cfg.batch * (t.cfg.context + 1);
        double seconds = (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
        workload_progress_step(t.progress, t.pos.step, loss, (guint64)t.cfg.batch, seconds);
        if (log_every > 0 && (t.pos.step % (guint64)log_every == 0 || t.pos.step == 1))
            fprintf(stderr,
                    "spotlab-train: step %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " loss %.4f\n",
                    t.pos.step, t.cfg.total_steps, (double)loss);
        gboolean due = every > 0 && t.pos.step % (guint64)every == 0;
        if (interval_us > 0 && g_get_monotonic_time() - interval_mark >= interval_us)
            due = TRUE;
        if (due && t.pos.step < t.cfg.total_steps) {
            /* Asynchronous checkpoints are spaced from start to start, blocking ones from the
             * end of one to the start of the next. */
            interval_mark = g_get_monotonic_time();
            if (!__checkpoint(&t, "periodic", !t.async, &error)) {
                fprintf(stderr, "spotlab-train: %s\n", error->message);
                g_clear_error(&error);
            }
            if (!t.async)
                interval_mark = g_get_monotonic_time();
        }
        if (hang_at >= 0 && t.pos.step == (guint64)hang_at) {
            workload_checkpoint_writer_wait(t.writer, NULL);
            fprintf(stderr, "spotlab-train: --hang-at %" G_GINT64_FORMAT ": hanging\n", hang_at);
            for (;;)
                pause();
        }
    }

    if (status == TRAIN_EXIT_OK) {
        /* A write already running when the notice came is not started again: wait for it,
         * and write the current step only when that write was of an earlier one. */
        if (!workload_checkpoint_writer_wait(t.writer, &error)) {
            /* reported by the done callback */
            g_clear_error(&error);
        }
        g_mutex_lock(&t.lock);
        gboolean saved = t.last_saved_step == t.pos.step;
        g_mutex_unlock(&t.lock);
        const char *kind = strcmp(reason, "notice") == 0 ? "emergency" : "final";
        if (!saved && !__checkpoint(&t, kind, TRUE, &error)) {
            fprintf(stderr, "spotlab-train: %s\n", error->message);
            status = TRAIN_EXIT_FAILED;
            reason = "error";
        } else if (strcmp(reason, "notice") == 0) {
            status = TRAIN_EXIT_NOTICE;
            g_autoptr(GError) ack = NULL;
            if (!workload_notice_acknowledge(t.watcher, &ack))
                fprintf(stderr, "spotlab-train: acknowledging the notice: %s\n", ack->message);
        }
    }
    workload_progress_exit(t.progress, reason, t.pos.step, status);
    if (status == TRAIN_EXIT_OK)
        fprintf(stderr, "spotlab-train: finished %" G_GUINT64_FORMAT " steps\n", t.pos.step);

out:
    __trainer_clear(&t);
    return status;
}
