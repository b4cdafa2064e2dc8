/*
 * analyzer.h — the online analyzer: groups stored events into clusters, keeps their counts,
 * breakdowns and hourly series, and lets a user resolve, ignore, merge and split them.
 *
 * How an event is grouped (analyzer/cluster.c), in event id order:
 *   1. rules_match() labels it (rule id + named captures; the first rule a cluster's events
 *      match becomes the cluster's rule);
 *   2. its grouping key: an event with its own `fingerprint` array, or with an exception, gets a
 *      fingerprint (fingerprint.h: type + in-app frames, ...); any other event's message is
 *      masked and mined by the persistent Drain miner (miner.h) and the key is 'tpl:<id>' of
 *      its template, so ids and numbers in messages do not split a group; when the miner folds
 *      one template into another, the folded template's clusters join the survivor's;
 *   3. the cluster is the row with (project, kind, key); a row merged into another forwards to
 *      it, a row that was split routes the event to a child by a stricter key (the full masked
 *      message plus every frame); a missing row is created;
 *   4. counts, first/last seen, per system/component/release/environment/level counts and the
 *      hourly series are updated; a resolved cluster that gets an event received after it was
 *      resolved reopens (status 'open', regressed_at set); the event's cluster_id and the
 *      explanation of why it joined are stored (event_grouping).
 * Events are processed in transactions of up to `batch` events together with the miner state
 * and the last processed id, so a crash never double-counts or skips an event. The same events
 * in the same order give the same clusters (ids, keys, counts): the analyzer is deterministic.
 *
 * Schema: core/db.h (an-clusters block). Each analyzer has its own write connection (it waits,
 * like any SQLite writer, while the collector's writer commits). Several analyzers may work on
 * one database (`autocoder analyze` while `serve --rules` runs): every batch bumps
 * analyzer_state.generation, and an analyzer that sees another's generation at the start of its
 * batch reloads the miner state and last processed id first.
 *
 * Thread safety: every function below may be called from any thread; calls are serialised by
 * the analyzer's lock. analyzer_start() runs analyzer_process_new() on a thread of its own
 * whenever analyzer_notify() is called (the collector's writer calls it after each commit)
 * and at least every 200 ms.
 */
#ifndef AC_ANALYZER_H
#define AC_ANALYZER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct ac_error;
struct analyzer;
struct rules;

#define ANALYZER_DEFAULT_BATCH 500

/* Open the database for writing (migrating it) and load the rule packs in rules_dir (NULL: no
 * rules, clusters are then never labelled) and the miner state. 0 and a new analyzer the caller
 * frees with analyzer_close(), or a negative AC_E* code with err set (bad rules: AC_EINVAL with
 * "file:line:col: message"). */
int analyzer_open(const char *db_path, const char *rules_dir, struct analyzer **out,
		  struct ac_error *err);
/* Stop the thread if running (after a last pass), close the database, free. Safe on NULL. */
void analyzer_close(struct analyzer *a);
/* Events per transaction (default ANALYZER_DEFAULT_BATCH; 0 keeps the default). */
void analyzer_set_batch(struct analyzer *a, size_t batch);
/* The loaded rules (NULL when opened without a rules directory); owned by the analyzer,
 * immutable and usable from any thread until analyzer_close(). */
const struct rules *analyzer_rules(const struct analyzer *a);

/* Cluster every event with an id above the last processed one. Returns the number of events
 * clustered (>= 0) or a negative AC_E* code with err set; on error nothing of the failed
 * transaction is kept (earlier transactions are). */
long analyzer_process_new(struct analyzer *a, struct ac_error *err);
/* Re-cluster every event from scratch, after a rule, mask or miner change: counts, breakdowns,
 * series, explanations and the miner state are dropped and rebuilt. The decisions users made
 * stay attached to the grouping keys: status, merges and splits of a key apply again; clusters
 * left without events are deleted. Returns the number of events clustered or a negative code. */
long analyzer_rebuild(struct analyzer *a, struct ac_error *err);

/* Set a cluster's status: "open", "resolved" (remembers when) or "ignored". project is the
 * caller's project (-1: any). 0; AC_ENOTFOUND (no such cluster in that project); AC_EINVAL (bad
 * status, or the cluster was merged or split: err names the cluster to use instead). */
int analyzer_set_status(struct analyzer *a, long long id, long long project, const char *status,
			struct ac_error *err);
/* Merge clusters from[0..n) into `into`: their events, counts, breakdowns and series move to
 * `into`, each gets merged_into = into, and future events with their keys go to `into`.
 * 0; AC_ENOTFOUND (an id does not exist in the project); AC_EINVAL (empty list, `into` in the
 * list, or a cluster that was itself merged or split). */
/* Events moved per transaction by merge, split and unmerge (default 2000; 0 restores it).
 * Process-wide; tests set it small. Between chunks the SQLite write lock is released. */
void analyzer_set_chunk_rows(size_t rows);
int analyzer_merge(struct analyzer *a, long long into, const long long *from, size_t n,
		   long long project, struct ac_error *err);
/* Undo a merge: cluster id (merged into another) is live again, and the events whose grouping
 * key is its own — with their counts, breakdowns and hourly history — return to it from the
 * cluster it was merged into (*into, may be NULL). Later events with its key go to it again.
 * 0; AC_ENOTFOUND; AC_EINVAL when id is not merged (not_merged) or its survivor is not live. */
int analyzer_unmerge(struct analyzer *a, long long id, long long project, long long *into,
		     struct ac_error *err);
/* Split a cluster by a stricter key (the full masked message plus every frame's function and
 * file): its events move to new child clusters (status inherited), the cluster stays as the
 * parent that routes future events with its key to the children. On success *children is a
 * new array of the child ids (ascending) the caller frees, *n its length. AC_ENOTFOUND;
 * AC_EINVAL when the cluster was merged or split already, or all its events share one stricter
 * key (nothing to split). */
int analyzer_split(struct analyzer *a, long long id, long long project, long long **children,
		   size_t *n, struct ac_error *err);

/* Run analyzer_process_new() on a background thread: after analyzer_notify() and every
 * 200 ms. Errors are logged and retried on the next wake-up. 0 or AC_EIO. */
int analyzer_start(struct analyzer *a, struct ac_error *err);
/* Wake the thread (cheap; safe to call from any thread, e.g. the writer after a commit). The
 * argument is the analyzer, typed void * so it can serve as a callback. */
void analyzer_notify(void *analyzer);
/* Cluster one last batch of new events (a larger backlog waits for the next start, which
 * continues from the stored last id) and join the thread. Safe when not started. */
void analyzer_stop(struct analyzer *a);

/* Append to b the text an event is recognised by (rules, miner, guide): its message, else
 * "Type: value", else the type or the value. ev is a stored (normalised) event. */
struct ac_buf;
void analyzer_event_text(const json_t *ev, struct ac_buf *b);

#endif
