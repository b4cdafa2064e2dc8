/*
 * miner.h — online log-template mining (a Drain-style miner, He et al. 2017).
 *
 * miner_add() masks a line (mask.h), splits it on whitespace and routes it through a prefix
 * tree: first by token count, then by its first `depth` tokens (a token holding a digit or a
 * placeholder goes to the node's wildcard child, as does any new token once a node has
 * `max_children` children). The leaf holds candidate clusters; the line joins the most
 * similar one if similarity >= sim_threshold, else it starts a new cluster. Similarity is the
 * share of the literal positions where the template token equals the line token (positions
 * where both hold placeholders, or where the template already has "<*>", count neither way);
 * two different upper-case constants ("RUNNING" vs "FAILED") make it 0. Joining a cluster
 * turns differing positions of its template into "<*>". When that makes a template cover
 * another one in the same leaf (they differ only in variable positions), the two merge
 * (unless cfg.no_merge): the younger id is folded into the older, and miner_resolve() maps it
 * from then on.
 * A line that still finds no cluster may join one of another token count through an optional
 * part: the same literal words (>= 3) in the same order, and everything between them equal
 * except one added run holding a parameter ("( <SIZE> )"). Words that differ at one position
 * are decided by families (clusters equal but at that position: a variable shows many words
 * seen once, a constant few recurring ones); two words that vary together by pair families.
 * Leaves of >= 16 clusters are indexed by (position, word or "<*>").
 * An exact-repeat cache (masked line -> cluster) answers most lines without the tree; an entry
 * is only used while no template, merge or family changed since it was made, so the cache
 * never answers differently from the tree.
 *
 * Deterministic: the same lines in the same order give the same ids and templates. Cluster ids
 * are 1, 2, 3... in creation order; an id stays valid after a merge (it resolves to the
 * survivor).
 *
 * Persistence (miner_save/miner_load) uses three tables (core/db.c migrations "templates" and
 * "analyzer2"):
 *   templates(id INTEGER PRIMARY KEY, template TEXT, tokens INTEGER, count INTEGER,
 *             merged_into INTEGER, updated_at REAL, route TEXT)  -- route: the tree keys of
 *             the template's first line
 *   miner_config(key TEXT PRIMARY KEY, value TEXT)   -- threshold, depth, masks, user masks
 *   miner_families(key INTEGER PRIMARY KEY, pos INTEGER, merged INTEGER, ids TEXT)
 * Loading replays the templates in id order into a fresh tree along their saved routes, which
 * rebuilds the same tree the miner had (children are only created when a cluster is created),
 * and restores the families, so a restarted miner groups the next lines exactly as one that
 * kept running (tests/unit/check_miner2.c checks this on every development and held-out-style
 * log).
 *
 * Not thread-safe: use one miner per thread or a lock around every call.
 */
#ifndef AC_MINER_H
#define AC_MINER_H

#include "core/sql.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ac_error;
struct miner;

struct miner_config {
	double sim_threshold;  /* (0, 1]; default MINER_DEFAULT_THRESHOLD */
	unsigned depth;        /* leading tokens used as tree keys; default 2 */
	unsigned max_children; /* children per tree node before new tokens go to the wildcard */
	size_t max_clusters;   /* miner_add fails with AC_ETOOBIG past this; default 1,000,000 */
	size_t max_line;       /* bytes of a line that are mined; the rest is ignored (16 KiB) */
	const char *masks;     /* built-in masks (mask.h list); NULL = MASK_DEFAULT_BUILTINS */
	bool no_merge;         /* do not merge clusters whose templates turn out to differ only in
				* variable positions (merging is on by default) */
};

#define MINER_DEFAULT_THRESHOLD 0.7

/* Fill cfg with the defaults. */
void miner_config_default(struct miner_config *cfg);

/* New empty miner. cfg may be NULL (defaults); zero fields take their default. Returns NULL
 * with err set on a bad configuration (unknown mask, threshold out of range) or no memory. */
struct miner *miner_new(const struct miner_config *cfg, struct ac_error *err);
void miner_free(struct miner *m);

/* Add a user mask "NAME=PCRE2" applied before the built-ins (see masker_add_spec). Add masks
 * before the first line; they are saved with the state. 0 or AC_EINVAL with err set. */
int miner_add_mask(struct miner *m, const char *spec, struct ac_error *err);

/* Learn one line (need not be NUL-terminated; a trailing newline is ignored). Returns its
 * cluster id (>= 1), or AC_ENOMEM / AC_ETOOBIG (max_clusters reached). */
long miner_add(struct miner *m, const char *line, size_t len);

#define MINER_MAX_FOLDED 8

/* Why a line joined its cluster (for a stored "why grouped" explanation). */
enum miner_how {
	MINER_SAME_TEXT, /* its masked text equals an earlier line's */
	MINER_SIMILAR,   /* it was similar enough to the template */
	MINER_NEW,       /* it started a new cluster */
	MINER_OPTIONAL,  /* same words as a template of another length, plus or minus an optional
			  * part of parameters ("(2.1 MB)") */
};
struct miner_info {
	long id;
	enum miner_how how;
	double similarity; /* with the chosen (or, for MINER_NEW, the closest) template; 0 if none */
	double threshold;
	/* clusters folded into `id` by this call (their events now belong to id): the first
	 * MINER_MAX_FOLDED ids, nfolded counts all */
	long folded[MINER_MAX_FOLDED];
	unsigned nfolded;
};

/* miner_add() that also fills info (may be NULL). */
long miner_add_info(struct miner *m, const char *line, size_t len, struct miner_info *info);
/* One-line explanation of info into buf (snprintf semantics: returns the untruncated length):
 * "template 12: 83% of the literal tokens agree (threshold 70%)". */
int miner_explain(const struct miner_info *info, char *buf, size_t cap);

/* Classify a line without learning: the id of the cluster it would join, or 0 if it would
 * start a new one. */
long miner_match(struct miner *m, const char *line, size_t len);

/* Mask a line exactly as miner_add does. Returns a string owned by the miner, valid until the
 * next call on m. */
const char *miner_masked(struct miner *m, const char *line, size_t len);

/* Number of cluster ids handed out; ids run from 1 to miner_count(), merged ones included. */
size_t miner_count(const struct miner *m);
/* The live cluster an id belongs to now: id itself, or the cluster it was merged into (see
 * above). 0 for an unknown id. Store resolved ids, or resolve them when reading. */
long miner_resolve(const struct miner *m, long id);
/* Iterate the live clusters: for (long id = miner_next(m, 0); id; id = miner_next(m, id)). */
long miner_next(const struct miner *m, long after);
/* Template of (the live cluster of) id ("Connected to <IP> in <*>"), owned by the miner and
 * valid until the next miner_add(); NULL for an unknown id. */
const char *miner_template(const struct miner *m, long id);
/* Number of lines that joined (the live cluster of) id, 0 for an unknown id. */
uint64_t miner_size(const struct miner *m, long id);

/* Write the configuration and every cluster changed since the last save (all of them the
 * first time) inside a savepoint, so it nests in a caller's transaction. The database needs
 * the templates migration (ac_db_open(..., AC_DB_WRITE) applies it). 0 or AC_EDB. */
int miner_save(struct miner *m, ac_sql *db, struct ac_error *err);

/* Build a miner from a database written by miner_save(); the stored configuration wins over
 * defaults. An empty database gives a new miner with cfg (may be NULL). Returns NULL with err
 * set on a database error or a corrupt state. */
struct miner *miner_load(ac_sql *db, const struct miner_config *cfg, struct ac_error *err);

#endif
