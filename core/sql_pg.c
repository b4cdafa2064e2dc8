/*
 * sql_pg.c — the PostgreSQL backend of the storage interface (sql.h), on libpq.
 *
 * Preparing a statement translates its SQL once (translate_sql below): '?NNN' becomes
 * '$NNN' and a bare '?' the next number (SQLite's rule), and a few SQLite spellings that
 * PostgreSQL lacks become their equivalents: BEGIN IMMEDIATE -> BEGIN, LIKE -> ILIKE (SQLite's
 * LIKE ignores ASCII case), REAL -> DOUBLE PRECISION and INTEGER -> BIGINT (SQLite's sizes, as
 * in CAST(x AS REAL)), IFNULL( ->
 * COALESCE(, "x IS ?" -> "x IS NOT DISTINCT FROM $n", two-argument MAX()/MIN() ->
 * GREATEST()/LEAST(), INSERT OR IGNORE -> INSERT ... ON CONFLICT DO NOTHING, INSERT OR REPLACE
 * -> INSERT ... ON CONFLICT (primary key) DO UPDATE SET every other column (the keys of the
 * tables written that way are listed in replace_keys). A PRAGMA
 * (SQLite's settings) becomes a statement that returns no rows.
 *
 * Stepping runs the statement with PQexecParams and the bound values, keeps the result and
 * hands out its rows one step at a time: int64 binds go as int8, doubles as float8, blobs as
 * binary bytea, text untyped so the server infers the type from the context. Results come
 * in text form; the getters convert (bool 't'/'f' reads as 1/0, bytea '\x..' is decoded).
 *
 * Errors carry SQLite's codes (sql.h) mapped from the SQLSTATE. A connection that broke is
 * re-established (PQreset) before the next statement; until that works every call fails
 * with AC_SQL_IOERR, which the collector turns into 503 + Retry-After.
 */
#include "core/common.h"
#include "core/sql_int.h"

#include <ctype.h>
#include <limits.h>
#include <strings.h>
#include <libpq-fe.h>

#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_OID 26
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700
#define OID_TEXT 25

struct pg_db {
	struct ac_sql base;
	PGconn *conn;
	char name[160];
	char errmsg[512];
	int errcode;
	int changes;
	int total_changes;
	bool inserted;     /* an INSERT ran in this session: lastval() is defined */
	unsigned epoch;    /* +1 per reconnection: server-side prepared statements are gone */
	unsigned names;    /* prepared statement names s1, s2, ... */
};

struct pg_param {
	const char *value;   /* NULL: SQL NULL */
	int length;
	int format;          /* 0 text, 1 binary */
	unsigned type;       /* 0: let the server infer */
	char *owned;         /* copy we free */
	char num[32];        /* int64 / double in text form */
};

struct pg_stmt {
	struct ac_sql_stmt base;
	struct pg_db *db;
	char *sql;           /* translated */
	int nparams;
	bool noop;           /* a PRAGMA: no rows, no effect */
	bool is_insert;
	bool preparable;     /* SELECT/INSERT/UPDATE/DELETE/WITH: may be prepared on the server */
	unsigned runs;       /* executions so far: the second one prepares the statement */
	bool prepared;       /* name is prepared on the server (in epoch, with ptypes) */
	unsigned prepared_epoch;
	char name[16];
	Oid *ptypes;
	struct pg_param *params;
	bool *null_tested;   /* params that appear as "$k IS [NOT] NULL", or nowhere (a numbering
			      * gap): sent as text when bound as text or NULL (mark_null_tests) */
	PGresult *res;
	PGresult *desc;      /* the result's shape, when asked for before the first step */
	int row, nrows;
	unsigned char *blob; /* decoded bytea of (blob_row, blob_col) */
	size_t blob_len;
	int blob_row, blob_col;
};

#define PDB(d) ((struct pg_db *)(d))
#define PST(s) ((struct pg_stmt *)(s))

static const struct ac_sql_ops pg_ops;

/* ---- SQL translation ---- */

static bool word_is(const char *p, size_t n, const char *w)
{
	return strlen(w) == n && strncasecmp(p, w, n) == 0;
}

static const char *skip_space(const char *p)
{
	while (*p && isspace((unsigned char)*p))
		p++;
	return p;
}

static size_t word_len(const char *p)
{
	size_t n = 0;
	while (isalnum((unsigned char)p[n]) || p[n] == '_')
		n++;
	return n;
}

/* After "max(" / "min(": does the call have a comma at its own level (scalar form)? */
static bool has_top_level_comma(const char *p)
{
	int depth = 1;
	char q = 0;

	for (; *p && depth > 0; p++) {
		if (q) {
			if (*p == q)
				q = 0;
			continue;
		}
		if (*p == '\'' || *p == '"')
			q = *p;
		else if (*p == '(')
			depth++;
		else if (*p == ')')
			depth--;
		else if (*p == ',' && depth == 1)
			return true;
	}
	return false;
}

/* INSERT OR REPLACE needs the conflict target PostgreSQL's upsert names: the primary keys of
 * the tables the modules write that way. */
static const struct { const char *table, *key; } replace_keys[] = {
	{ "event_grouping", "event" }, { "miner_config", "key" }, { "analyzer_state", "key" },
	{ "alert_meta", "key" }, { "alert_state", "rule_id,cluster_id" },
	{ "item_counts", "project_id,item_type" }, { "retention", "project_id" },
	{ "cluster_dims", "cluster_id,dim,value" }, { "cluster_hourly", "cluster_id,hour" },
	{ "templates", "id" },
};

static bool in_list(const char *list, const char *w, size_t n)
{
	for (const char *p = list; *p;) {
		size_t k = strcspn(p, ",");
		if (k == n && !strncmp(p, w, n))
			return true;
		p += k + (p[k] == ',');
	}
	return false;
}

/* After "INSERT OR REPLACE INTO": " table(a, b, c)" -> the ON CONFLICT clause in out. */
static void replace_clause(const char *p, char *out, size_t n)
{
	const char *key = NULL;
	bool first = true;
	size_t w, o;

	out[0] = '\0';
	p = skip_space(p);
	w = word_len(p);
	for (size_t i = 0; i < sizeof replace_keys / sizeof replace_keys[0]; i++)
		if (word_is(p, w, replace_keys[i].table))
			key = replace_keys[i].key;
	p = skip_space(p + w);
	if (!key || *p != '(')
		return;
	o = (size_t)snprintf(out, n, " ON CONFLICT (%s) DO UPDATE SET ", key);
	for (p++; *p && *p != ')' && o < n;) {
		p = skip_space(p);
		w = word_len(p);
		if (w && !in_list(key, p, w)) {
			o += (size_t)snprintf(out + o, n - o, "%s%.*s = excluded.%.*s",
					      first ? "" : ", ", (int)w, p, (int)w, p);
			first = false;
		}
		p = skip_space(p + w);
		if (*p == ',')
			p++;
		else if (!w)
			break;
	}
	if (o >= n)
		out[0] = '\0';
}

/* After "INSERT INTO": "table(a, b, c)" -> table and "a,b,c" (empty when not of that form). */
static void insert_columns(const char *p, char *table, size_t tn, char *cols, size_t cn)
{
	size_t w = word_len(p), o = 0;

	table[0] = cols[0] = '\0';
	if (!w || w >= tn)
		return;
	snprintf(table, tn, "%.*s", (int)w, p);
	p = skip_space(p + w);
	if (*p != '(')
		return;
	for (p = skip_space(p + 1); *p && *p != ')'; p = skip_space(p)) {
		w = word_len(p);
		if (!w || o + w + 2 >= cn)
			break;
		o += (size_t)snprintf(cols + o, cn - o, "%s%.*s", o ? "," : "", (int)w, p);
		p = skip_space(p + w);
		if (*p == ',')
			p++;
	}
}

/* Translate sql (n bytes) into a new string; *nparams gets the highest parameter number. */
static char *translate_sql(const char *sql, size_t n, int *nparams, bool *insert_or_ignore)
{
	struct ac_buf b;
	const char *p = sql, *end = sql + n;
	int maxp = 0;
	bool pending_ignore = false, in_update_set = false;
	char num[16], upsert[1024] = "", table[64] = "", cols[512] = "";

	ac_buf_init(&b, (size_t)1 << 30);
	*insert_or_ignore = false;
	while (p < end && *p) {
		if (*p == '\'' || *p == '"') {
			char q = *p;
			const char *s = p++;
			while (p < end && *p && *p != q)
				p++;
			if (p < end && *p)
				p++;
			ac_buf_append(&b, s, (size_t)(p - s));
		} else if (*p == '-' && p + 1 < end && p[1] == '-') {
			const char *s = p;
			while (p < end && *p && *p != '\n')
				p++;
			ac_buf_append(&b, s, (size_t)(p - s));
		} else if (*p == ';' && (pending_ignore || upsert[0])) {
			/* INSERT OR IGNORE / OR REPLACE: the statement ends here */
			ac_buf_puts(&b, upsert[0] ? upsert : " ON CONFLICT DO NOTHING");
			ac_buf_puts(&b, ";");
			pending_ignore = in_update_set = false;
			upsert[0] = '\0';
			p++;
		} else if (*p == ';') {
			in_update_set = false;
			ac_buf_append(&b, p++, 1);
		} else if (*p == '?') {
			int k;
			p++;
			if (isdigit((unsigned char)*p)) {
				k = (int)strtol(p, (char **)&p, 10);
			} else {
				k = maxp + 1;
			}
			if (k > maxp)
				maxp = k;
			snprintf(num, sizeof num, "$%d", k);
			ac_buf_puts(&b, num);
		} else if (isalpha((unsigned char)*p) || *p == '_') {
			size_t w = word_len(p);
			const char *next = skip_space(p + w);
			if ((word_is(p, w, "IMMEDIATE") || word_is(p, w, "DEFERRED") ||
			     word_is(p, w, "EXCLUSIVE")) && b.len >= 6 &&
			    !strncasecmp(b.data + b.len - 6, "BEGIN ", 6)) {
				/* BEGIN IMMEDIATE: PostgreSQL's BEGIN (locks are taken per row) */
				p += w;
				continue;
			}
			if (word_is(p, w, "INTO") && b.len >= 7 &&
			    !strncasecmp(b.data + b.len - 7, "INSERT ", 7)) {
				insert_columns(next, table, sizeof table, cols, sizeof cols);
				ac_buf_append(&b, p, w);
			} else if (word_is(p, w, "SET") && b.len >= 10 &&
				   !strncasecmp(b.data + b.len - 10, "DO UPDATE ", 10)) {
				in_update_set = table[0] != '\0';
				ac_buf_append(&b, p, w);
			} else if (in_update_set && (word_is(p, w, "WHERE") || word_is(p, w, "RETURNING"))) {
				in_update_set = false;
				ac_buf_append(&b, p, w);
			} else if (in_update_set && *next != '=' && b.len && b.data[b.len - 1] != '.' &&
				   in_list(cols, p, w)) {
				/* SQLite's bare column in DO UPDATE SET is the existing row's:
				 * PostgreSQL needs it qualified (excluded.x is the new one) */
				ac_buf_printf(&b, "%s.%.*s", table, (int)w, p);
			} else if (word_is(p, w, "REAL")) {
				/* CAST(x AS REAL): SQLite's REAL is 8 bytes, PostgreSQL's 4 */
				ac_buf_puts(&b, "DOUBLE PRECISION");
			} else if (word_is(p, w, "INTEGER")) {
				ac_buf_puts(&b, "BIGINT");
			} else if (word_is(p, w, "LIKE")) {
				/* SQLite's LIKE ignores ASCII case; PostgreSQL's ILIKE does that */
				ac_buf_puts(&b, "ILIKE");
			} else if (word_is(p, w, "IFNULL") && *next == '(') {
				ac_buf_puts(&b, "COALESCE");
			} else if ((word_is(p, w, "MAX") || word_is(p, w, "MIN")) && *next == '(' &&
				   has_top_level_comma(next + 1)) {
				ac_buf_puts(&b, tolower((unsigned char)p[1]) == 'a' ? "GREATEST" : "LEAST");
			} else if (word_is(p, w, "IS") && *next == '?') {
				ac_buf_puts(&b, "IS NOT DISTINCT FROM");
			} else if (word_is(p, w, "IS") && word_is(next, word_len(next), "NOT") &&
				   *skip_space(next + 3) == '?') {
				ac_buf_puts(&b, "IS DISTINCT FROM");
				p = next + 3;
				continue;
			} else if (word_is(p, w, "OR") && b.len >= 7 &&
				   strncasecmp(b.data + b.len - 7, "INSERT ", 7) == 0 &&
				   word_is(next, word_len(next), "REPLACE")) {
				const char *into = skip_space(next + 7);
				if (word_is(into, word_len(into), "INTO"))
					replace_clause(into + 4, upsert, sizeof upsert);
				p = next + 7;
				while (isspace((unsigned char)*p))
					p++;
				continue;
			} else if (word_is(p, w, "OR") && b.len >= 7 &&
				   strncasecmp(b.data + b.len - 7, "INSERT ", 7) == 0 &&
				   word_is(next, word_len(next), "IGNORE")) {
				*insert_or_ignore = pending_ignore = true;
				p = next + 6;
				while (isspace((unsigned char)*p))
					p++;
				continue;
			} else {
				ac_buf_append(&b, p, w);
			}
			p += w;
		} else {
			ac_buf_append(&b, p, 1);
			p++;
		}
	}
	if (pending_ignore || upsert[0]) {
		while (b.len && (isspace((unsigned char)b.data[b.len - 1]) || b.data[b.len - 1] == ';'))
			b.len--;
		ac_buf_puts(&b, upsert[0] ? upsert : " ON CONFLICT DO NOTHING");
	}
	*nparams = maxp;
	if (!b.data)
		ac_buf_puts(&b, "");
	return b.data;
}

char *ac_sql_pg_translate(const char *sql, int *nparams)
{
	bool ignore;
	return translate_sql(sql, strlen(sql), nparams, &ignore);
}

/* ---- errors ---- */

static int classify(const char *state, PGconn *conn)
{
	if (!state)
		return PQstatus(conn) == CONNECTION_BAD ? AC_SQL_IOERR : AC_SQL_ERROR;
	if (!strcmp(state, "53100"))
		return AC_SQL_FULL;
	if (!strcmp(state, "25006"))
		return AC_SQL_READONLY;
	if (!strncmp(state, "23", 2))
		return AC_SQL_CONSTRAINT;
	if (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "53300"))
		return AC_SQL_BUSY;
	if (!strcmp(state, "55P03"))
		return AC_SQL_LOCKED;
	if (!strncmp(state, "08", 2) || !strncmp(state, "57P", 3) || !strncmp(state, "58", 2))
		return AC_SQL_IOERR;
	if (!strncmp(state, "53", 2))
		return AC_SQL_FULL;
	return PQstatus(conn) == CONNECTION_BAD ? AC_SQL_IOERR : AC_SQL_ERROR;
}

static int set_error(struct pg_db *d, int code, const char *msg)
{
	size_t n;

	d->errcode = code;
	snprintf(d->errmsg, sizeof d->errmsg, "%s", msg && *msg ? msg : ac_sql_errstr(code));
	n = strlen(d->errmsg);
	while (n && (d->errmsg[n - 1] == '\n' || d->errmsg[n - 1] == ' '))
		d->errmsg[--n] = '\0';
	return code;
}

static int result_error(struct pg_db *d, PGresult *res)
{
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	int code = classify(res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL, d->conn);

	if (!msg)
		msg = PQerrorMessage(d->conn);
	if (code == AC_SQL_IOERR) {
		char m[480];
		snprintf(m, sizeof m, "PostgreSQL unreachable: %s", msg);
		return set_error(d, code, m);
	}
	return set_error(d, code, msg);
}

/* Re-establish a broken connection before the next statement. */
static int ensure_connected(struct pg_db *d)
{
	if (PQstatus(d->conn) == CONNECTION_OK)
		return AC_SQL_OK;
	PQreset(d->conn);
	d->epoch++;
	if (PQstatus(d->conn) != CONNECTION_OK) {
		char m[480];
		snprintf(m, sizeof m, "PostgreSQL unreachable: %s", PQerrorMessage(d->conn));
		return set_error(d, AC_SQL_IOERR, m);
	}
	return AC_SQL_OK;
}

/* ---- statements ---- */

static bool is_pragma(const char *sql)
{
	sql = skip_space(sql);
	return strncasecmp(sql, "PRAGMA", 6) == 0;
}

/* "$k IS NULL" alone does not tell PostgreSQL a parameter's type, and a later use cannot fix
 * it ("could not determine data type of parameter"): such a parameter bound as text or NULL
 * is sent as text (int64 and double binds carry their own types). */
static void mark_null_tests(struct pg_stmt *s)
{
	bool used[s->nparams];

	memset(used, 0, sizeof used);
	for (const char *p = strchr(s->sql, '$'); p; p = strchr(p + 1, '$')) {
		char *e;
		long k = strtol(p + 1, &e, 10);
		const char *q = skip_space(e);
		if (e != p + 1 && k >= 1 && k <= s->nparams)
			used[k - 1] = true;
		if (e == p + 1 || k < 1 || k > s->nparams || strncasecmp(q, "IS", 2) || !isspace((unsigned char)q[2]))
			continue;
		q = skip_space(q + 2);
		if (!strncasecmp(q, "NOT", 3) && isspace((unsigned char)q[3]))
			q = skip_space(q + 3);
		if (!strncasecmp(q, "NULL", 4) && !isalnum((unsigned char)q[4]))
			s->null_tested[k - 1] = true;
	}
	/* "?1 ... ?4": PostgreSQL must still be told a type for $2 and $3 */
	for (int i = 0; i < s->nparams; i++)
		if (!used[i])
			s->null_tested[i] = true;
}

static int pg_prepare(ac_sql *db, const char *sql, int nbyte, ac_sql_stmt **out,
		      const char **tail, unsigned flags)
{
	struct pg_stmt *s = calloc(1, sizeof *s);
	size_t n = nbyte < 0 ? strlen(sql) : (size_t)nbyte;
	bool ignore;

	(void)flags;
	*out = NULL;
	if (tail)
		*tail = sql + n;
	if (!s)
		return set_error(PDB(db), AC_SQL_NOMEM, NULL);
	s->base.ops = &pg_ops;
	s->db = PDB(db);
	s->noop = is_pragma(sql);
	s->is_insert = strncasecmp(skip_space(sql), "INSERT", 6) == 0;
	{
		const char *w = skip_space(sql);
		s->preparable = s->is_insert || !strncasecmp(w, "SELECT", 6) ||
				!strncasecmp(w, "UPDATE", 6) || !strncasecmp(w, "DELETE", 6) ||
				!strncasecmp(w, "WITH", 4);
	}
	s->sql = translate_sql(sql, n, &s->nparams, &ignore);
	if (!s->sql || (s->nparams && !(s->params = calloc((size_t)s->nparams, sizeof *s->params)))) {
		free(s->sql);
		free(s);
		return set_error(PDB(db), AC_SQL_NOMEM, NULL);
	}
	if (s->nparams && (s->null_tested = calloc((size_t)s->nparams, sizeof *s->null_tested)))
		mark_null_tests(s);
	s->blob_row = -1;
	*out = &s->base;
	return AC_SQL_OK;
}

static void clear_result(struct pg_stmt *s)
{
	PQclear(s->res);
	s->res = NULL;
	s->row = s->nrows = 0;
	free(s->blob);
	s->blob = NULL;
	s->blob_row = -1;
}

/* A statement run more than once (the writer's insert, the analyzer's statements) is prepared
 * on the server at its second run, with the parameter types of that run, and executed by name
 * while later runs bind the same types; parse and plan are then paid once. */
static bool prepared_for(struct pg_stmt *s, const Oid *types)
{
	struct pg_db *d = s->db;
	PGresult *res;

	if (!s->preparable || s->runs == UINT_MAX || ++s->runs < 2)
		return false;
	if (s->prepared && s->prepared_epoch == d->epoch)
		return !memcmp(types, s->ptypes, (size_t)s->nparams * sizeof *types);
	if (s->prepared && s->prepared_epoch != d->epoch)
		s->prepared = false;   /* the server forgot it when the connection was re-made */
	if (!s->ptypes && !(s->ptypes = calloc((size_t)s->nparams + 1, sizeof *s->ptypes)))
		return false;
	if (PQtransactionStatus(d->conn) == PQTRANS_INERROR)
		return false;
	snprintf(s->name, sizeof s->name, "s%u", ++d->names);
	res = PQprepare(d->conn, s->name, s->sql, s->nparams, types);
	if (res && PQresultStatus(res) == PGRES_COMMAND_OK) {
		memcpy(s->ptypes, types, (size_t)s->nparams * sizeof *types);
		s->prepared = true;
		s->prepared_epoch = d->epoch;
	} else {
		s->runs = UINT_MAX;   /* do not try again; PQexecParams reports any error */
	}
	PQclear(res);
	return s->prepared;
}

static int pg_step(ac_sql_stmt *st)
{
	struct pg_stmt *s = PST(st);
	struct pg_db *d = s->db;
	const char *values[s->nparams ? s->nparams : 1];
	int lengths[s->nparams ? s->nparams : 1], formats[s->nparams ? s->nparams : 1];
	Oid types[s->nparams ? s->nparams : 1];
	ExecStatusType status;
	int rc;

	if (s->noop)
		return AC_SQL_DONE;
	if (s->res) {
		if (++s->row < s->nrows)
			return AC_SQL_ROW;
		return AC_SQL_DONE;
	}
	if ((rc = ensure_connected(d)))
		return rc;
	for (int i = 0; i < s->nparams; i++) {
		values[i] = s->params[i].value;
		lengths[i] = s->params[i].length;
		formats[i] = s->params[i].format;
		types[i] = s->params[i].type;
		if (!types[i] && s->null_tested && s->null_tested[i])
			types[i] = OID_TEXT;
	}
	s->res = prepared_for(s, types)
		? PQexecPrepared(d->conn, s->name, s->nparams, values, lengths, formats, 0)
		: PQexecParams(d->conn, s->sql, s->nparams, types, values, lengths, formats, 0);
	status = s->res ? PQresultStatus(s->res) : PGRES_FATAL_ERROR;
	if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
		rc = result_error(d, s->res);
		clear_result(s);
		return rc;
	}
	d->changes = (int)strtol(PQcmdTuples(s->res), NULL, 10);
	d->total_changes += d->changes;
	if (s->is_insert)
		d->inserted = true;
	s->row = 0;
	s->nrows = status == PGRES_TUPLES_OK ? PQntuples(s->res) : 0;
	return s->nrows > 0 ? AC_SQL_ROW : AC_SQL_DONE;
}

static int pg_reset(ac_sql_stmt *st)
{
	clear_result(PST(st));
	return AC_SQL_OK;
}

static void param_clear(struct pg_param *p)
{
	free(p->owned);
	memset(p, 0, sizeof *p);
}

static int pg_clear_bindings(ac_sql_stmt *st)
{
	struct pg_stmt *s = PST(st);
	for (int i = 0; i < s->nparams; i++)
		param_clear(&s->params[i]);
	return AC_SQL_OK;
}

static int pg_finalize(ac_sql_stmt *st)
{
	struct pg_stmt *s = PST(st);

	clear_result(s);
	pg_clear_bindings(st);
	if (s->prepared && s->prepared_epoch == s->db->epoch &&
	    (PQtransactionStatus(s->db->conn) == PQTRANS_IDLE ||
	     PQtransactionStatus(s->db->conn) == PQTRANS_INTRANS)) {
		char sql[40];
		snprintf(sql, sizeof sql, "DEALLOCATE %s", s->name);
		PQclear(PQexec(s->db->conn, sql));
	}
	PQclear(s->desc);
	free(s->ptypes);
	free(s->null_tested);
	free(s->params);
	free(s->sql);
	free(s);
	return AC_SQL_OK;
}

static struct pg_param *param_at(ac_sql_stmt *st, int i)
{
	struct pg_stmt *s = PST(st);

	if (i < 1 || i > s->nparams)
		return NULL;
	param_clear(&s->params[i - 1]);
	return &s->params[i - 1];
}

static int pg_bind_int64(ac_sql_stmt *st, int i, ac_sql_int64 v)
{
	struct pg_param *p = param_at(st, i);

	if (!p)
		return AC_SQL_RANGE;
	snprintf(p->num, sizeof p->num, "%lld", v);
	p->value = p->num;
	p->type = OID_INT8;
	return AC_SQL_OK;
}

static int pg_bind_double(ac_sql_stmt *st, int i, double v)
{
	struct pg_param *p = param_at(st, i);

	if (!p)
		return AC_SQL_RANGE;
	snprintf(p->num, sizeof p->num, "%.17g", v);
	p->value = p->num;
	p->type = OID_FLOAT8;
	return AC_SQL_OK;
}

static int pg_bind_null(ac_sql_stmt *st, int i)
{
	return param_at(st, i) ? AC_SQL_OK : AC_SQL_RANGE;
}

static int pg_bind_text(ac_sql_stmt *st, int i, const char *s, int n, ac_sql_destructor d)
{
	struct pg_param *p = param_at(st, i);

	if (!p)
		return AC_SQL_RANGE;
	if (!s)
		return AC_SQL_OK;
	if (n >= 0 || d != AC_SQL_STATIC) {
		size_t len = n >= 0 ? (size_t)n : strlen(s);
		if (!(p->owned = malloc(len + 1)))
			return AC_SQL_NOMEM;
		memcpy(p->owned, s, len);
		p->owned[len] = '\0';
		p->value = p->owned;
	} else {
		p->value = s;
	}
	if (d != AC_SQL_STATIC && d != AC_SQL_TRANSIENT)
		d((void *)s);
	return AC_SQL_OK;
}

static int pg_bind_blob(ac_sql_stmt *st, int i, const void *v, int n, ac_sql_destructor d)
{
	struct pg_param *p = param_at(st, i);

	if (!p)
		return AC_SQL_RANGE;
	if (d != AC_SQL_STATIC) {
		if (!(p->owned = malloc(n > 0 ? (size_t)n : 1)))
			return AC_SQL_NOMEM;
		memcpy(p->owned, v, (size_t)n);
		p->value = p->owned;
		if (d != AC_SQL_TRANSIENT)
			d((void *)v);
	} else {
		p->value = v ? v : "";
	}
	p->length = n;
	p->format = 1;
	p->type = OID_BYTEA;
	return AC_SQL_OK;
}

/* ---- columns ---- */

static bool has_cell(struct pg_stmt *s, int i)
{
	return s->res && s->row < s->nrows && i >= 0 && i < PQnfields(s->res);
}

/* SQLite knows a statement's columns once it is prepared; here the server is asked (the
 * unnamed statement, described) when a caller wants them before the first step. */
static const PGresult *shape(struct pg_stmt *s)
{
	PGresult *r;
	Oid types[s->nparams ? s->nparams : 1];

	if (s->res)
		return s->res;
	if (s->desc || s->noop || ensure_connected(s->db))
		return s->desc;
	for (int i = 0; i < s->nparams; i++)
		types[i] = s->params[i].type ? s->params[i].type
			 : s->null_tested && s->null_tested[i] ? OID_TEXT : 0;
	r = PQprepare(s->db->conn, "", s->sql, s->nparams, types);
	if (r && PQresultStatus(r) == PGRES_COMMAND_OK) {
		PQclear(r);
		r = PQdescribePrepared(s->db->conn, "");
		if (r && PQresultStatus(r) == PGRES_COMMAND_OK) {
			s->desc = r;
			return r;
		}
	}
	PQclear(r);
	return NULL;
}

static int pg_column_count(ac_sql_stmt *st)
{
	const PGresult *r = shape(PST(st));
	return r ? PQnfields(r) : 0;
}

static const char *pg_column_name(ac_sql_stmt *st, int i)
{
	const PGresult *r = shape(PST(st));
	return r && i >= 0 && i < PQnfields(r) ? PQfname(r, i) : NULL;
}

static int pg_column_type(ac_sql_stmt *st, int i)
{
	struct pg_stmt *s = PST(st);

	if (!has_cell(s, i) || PQgetisnull(s->res, s->row, i))
		return AC_SQL_NULL;
	switch (PQftype(s->res, i)) {
	case OID_BOOL: case OID_INT2: case OID_INT4: case OID_INT8: case OID_OID:
		return AC_SQL_INTEGER;
	case OID_FLOAT4: case OID_FLOAT8:
		return AC_SQL_FLOAT;
	case OID_NUMERIC:
		return strpbrk(PQgetvalue(s->res, s->row, i), ".eE") ? AC_SQL_FLOAT : AC_SQL_INTEGER;
	case OID_BYTEA:
		return AC_SQL_BLOB;
	default:
		return AC_SQL_TEXT;
	}
}

static const char *cell(struct pg_stmt *s, int i)
{
	if (!has_cell(s, i) || PQgetisnull(s->res, s->row, i))
		return NULL;
	return PQgetvalue(s->res, s->row, i);
}

static ac_sql_int64 pg_column_int64(ac_sql_stmt *st, int i)
{
	const char *v = cell(PST(st), i);

	if (!v)
		return 0;
	if (PQftype(PST(st)->res, i) == OID_BOOL)
		return *v == 't';
	if (strpbrk(v, ".eE"))
		return (ac_sql_int64)strtod(v, NULL);
	return strtoll(v, NULL, 10);
}

static double pg_column_double(ac_sql_stmt *st, int i)
{
	const char *v = cell(PST(st), i);

	if (!v)
		return 0;
	if (PQftype(PST(st)->res, i) == OID_BOOL)
		return *v == 't';
	return strtod(v, NULL);
}

static const unsigned char *pg_column_text(ac_sql_stmt *st, int i)
{
	return (const unsigned char *)cell(PST(st), i);
}

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* Decode the bytea cell (text form '\x' + hex) once per (row, column). */
static const unsigned char *decode_blob(struct pg_stmt *s, int i, size_t *len)
{
	const char *v = cell(s, i);
	size_t n;

	*len = 0;
	if (!v)
		return NULL;
	if (s->blob_row == s->row && s->blob_col == i) {
		*len = s->blob_len;
		return s->blob;
	}
	free(s->blob);
	s->blob = NULL;
	s->blob_row = -1;
	n = strlen(v);
	if (n >= 2 && v[0] == '\\' && v[1] == 'x') {
		n = (n - 2) / 2;
		if (!(s->blob = malloc(n ? n : 1)))
			return NULL;
		for (size_t k = 0; k < n; k++)
			s->blob[k] = (unsigned char)(hexval((unsigned char)v[2 + 2 * k]) << 4 |
						     hexval((unsigned char)v[3 + 2 * k]));
	} else {
		if (!(s->blob = malloc(n ? n : 1)))
			return NULL;
		memcpy(s->blob, v, n);
	}
	s->blob_len = n;
	s->blob_row = s->row;
	s->blob_col = i;
	*len = n;
	return s->blob;
}

static const void *pg_column_blob(ac_sql_stmt *st, int i)
{
	struct pg_stmt *s = PST(st);
	size_t len;

	if (s->res && i >= 0 && i < PQnfields(s->res) && PQftype(s->res, i) != OID_BYTEA)
		return cell(s, i);
	return decode_blob(s, i, &len);
}

static int pg_column_bytes(ac_sql_stmt *st, int i)
{
	struct pg_stmt *s = PST(st);
	size_t len;

	if (!has_cell(s, i) || PQgetisnull(s->res, s->row, i))
		return 0;
	if (PQftype(s->res, i) != OID_BYTEA)
		return PQgetlength(s->res, s->row, i);
	decode_blob(s, i, &len);
	return (int)len;
}

/* ---- connection ---- */

static int pg_exec(ac_sql *db, const char *sql, char **errmsg)
{
	struct pg_db *d = PDB(db);
	PGresult *res;
	ExecStatusType status;
	int nparams, rc;
	bool ignore;
	char *t;

	if (is_pragma(sql))
		return AC_SQL_OK;
	if ((rc = ensure_connected(d)))
		goto fail;
	if (!(t = translate_sql(sql, strlen(sql), &nparams, &ignore))) {
		rc = set_error(d, AC_SQL_NOMEM, NULL);
		goto fail;
	}
	res = PQexec(d->conn, t);
	free(t);
	status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY) {
		rc = result_error(d, res);
		PQclear(res);
		goto fail;
	}
	d->changes = (int)strtol(PQcmdTuples(res), NULL, 10);
	d->total_changes += d->changes;
	PQclear(res);
	return AC_SQL_OK;
fail:
	if (errmsg)
		*errmsg = strdup(d->errmsg);
	return rc;
}

static int pg_changes(ac_sql *db) { return PDB(db)->changes; }
static int pg_total_changes(ac_sql *db) { return PDB(db)->total_changes; }

static ac_sql_int64 pg_last_id(ac_sql *db)
{
	struct pg_db *d = PDB(db);
	PGresult *res;
	ac_sql_int64 id = 0;

	if (!d->inserted)
		return 0;
	res = PQexec(d->conn, "SELECT lastval()");
	if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return id;
}

static int pg_autocommit(ac_sql *db)
{
	return PQtransactionStatus(PDB(db)->conn) == PQTRANS_IDLE;
}

static int pg_readonly(ac_sql *db)
{
	PGresult *res = PQexec(PDB(db)->conn, "SHOW transaction_read_only");
	int ro = -1;

	if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		ro = !strcmp(PQgetvalue(res, 0, 0), "on");
	PQclear(res);
	return ro;
}

static const char *pg_filename(ac_sql *db) { return PDB(db)->name; }
static const char *pg_errmsg(ac_sql *db) { return PDB(db)->errmsg[0] ? PDB(db)->errmsg : "not an error"; }
static int pg_errcode(ac_sql *db) { return PDB(db)->errcode; }

static int pg_checkpoint(ac_sql *db, int mode)
{
	(void)db;
	(void)mode;
	return AC_SQL_OK;
}

static int pg_close(ac_sql *db)
{
	PQfinish(PDB(db)->conn);
	free(db);
	return AC_SQL_OK;
}

static const struct ac_sql_ops pg_ops = {
	.kind = AC_SQL_POSTGRES,
	.prepare = pg_prepare, .step = pg_step, .reset = pg_reset,
	.clear_bindings = pg_clear_bindings, .finalize = pg_finalize,
	.bind_int64 = pg_bind_int64, .bind_double = pg_bind_double,
	.bind_text = pg_bind_text, .bind_blob = pg_bind_blob, .bind_null = pg_bind_null,
	.column_count = pg_column_count, .column_name = pg_column_name,
	.column_type = pg_column_type, .column_int64 = pg_column_int64,
	.column_double = pg_column_double, .column_text = pg_column_text,
	.column_blob = pg_column_blob, .column_bytes = pg_column_bytes,
	.exec = pg_exec, .changes = pg_changes, .total_changes = pg_total_changes,
	.last_insert_rowid = pg_last_id, .get_autocommit = pg_autocommit,
	.db_readonly = pg_readonly, .db_filename = pg_filename, .errmsg = pg_errmsg,
	.errcode = pg_errcode, .extended_errcode = pg_errcode,
	.wal_checkpoint = pg_checkpoint, .close = pg_close,
};

static void quiet_notices(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

int ac_sql_pg_open(const char *conninfo, ac_sql **out, struct ac_error *err)
{
	struct pg_db *d = calloc(1, sizeof *d);
	PGresult *res;

	*out = NULL;
	if (!d)
		return ac_error_set(err, AC_ENOMEM, "internal", "out of memory");
	d->base.ops = &pg_ops;
	d->conn = PQconnectdb(conninfo);
	if (!d->conn || PQstatus(d->conn) != CONNECTION_OK) {
		char msg[400];
		snprintf(msg, sizeof msg, "%s", d->conn ? PQerrorMessage(d->conn) : "out of memory");
		msg[strcspn(msg, "\n")] = '\0';
		PQfinish(d->conn);
		free(d);
		return ac_error_set(err, AC_EDB, "database", "PostgreSQL unreachable: %s", msg);
	}
	PQsetNoticeProcessor(d->conn, quiet_notices, NULL);
	snprintf(d->name, sizeof d->name, "postgresql://%s:%s/%s", PQhost(d->conn),
		 PQport(d->conn), PQdb(d->conn));
	/* a 2xx means committed and flushed: never let a server default weaken that */
	res = PQexec(d->conn, "SET synchronous_commit = on; SET client_min_messages = warning");
	if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
		ac_error_set(err, AC_EDB, "database", "configuring the PostgreSQL session: %s",
			     PQerrorMessage(d->conn));
		PQclear(res);
		PQfinish(d->conn);
		free(d);
		return AC_EDB;
	}
	PQclear(res);
	*out = &d->base;
	return 0;
}
