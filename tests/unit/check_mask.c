/*
 * check_mask.c — unit tests for analyzer/mask: every built-in mask on real-looking text, the
 * boundaries that must not be masked, user PCRE2 masks, configuration errors and truncation.
 */
#include "core/common.h"
#include "analyzer/mask.h"

#include <check.h>

#include "tests/unit/check_run.h"

static char out[4096];

static const char *mask(struct masker *mk, const char *in)
{
	masker_apply(mk, in, strlen(in), out, sizeof out);
	return out;
}

#define MASKS(in, want) ck_assert_str_eq(mask(mk, in), want)

START_TEST(masks_network_values)
{
	struct masker *mk = masker_new(NULL, NULL);
	MASKS("Connected to 10.0.0.1:80 from bob@example.com",
	      "Connected to <IP> from <EMAIL>");
	MASKS("GET https://example.org/a?b=1, done", "GET <URL>, done");
	MASKS("mail bob.x@mail.example.com. a@b.c1 x@y..z", "mail <EMAIL>. a@<ID> x@y..z");
	MASKS("peer [2001:db8::1]:443 and fe80::1%eth0", "peer <IP> and <IP>");
	MASKS("bind /0:0:0:0:0:0:0:0:2181", "bind /<IP>");
	MASKS("net 192.168.0.0/16 ok", "net <IP> ok");
	MASKS("not an ip 999.1.1.1", "not an ip <ID>");
	masker_free(mk);
}
END_TEST

START_TEST(masks_ids_hashes_and_times)
{
	struct masker *mk = masker_new(NULL, NULL);
	MASKS("req 123e4567-e89b-12d3-a456-426614174000 done", "req <UUID> done");
	/* letters then one or two digits name a thing: they stay words (issue 12, category 3) */
	MASKS("md5 d41d8cd98f00b204e9800998ecf8427e", "md5 <HASH>");
	MASKS("sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	      "<ID> <HASH>");
	MASKS("mount sda1 over HTTP2 in utf8 on eth0 via SOCKS5", "mount sda1 over HTTP2 in utf8 on eth0 via SOCKS5");
	MASKS("node node001 and job42x", "node <ID> and <ID>");
	MASKS("at 2015-07-29 17:41:44,747 or 2015-07-29T17:41:44.747Z", "at <DATE> or <DATE>");
	MASKS("at 17:41:44 on 09/30/2012", "at <TIME> on <DATE>");
	MASKS("from 1.2.3.4 at Sat Jun 18 02:08:10 2005", "from <IP> at <DATE>");
	MASKS("[18/Jun/2005:02:08:10 +0000] Jun  9 06:06:20 x", "[<DATE> <NUM>] <DATE> x");
	MASKS("May the force be on Monday", "May the force be on Monday");
	MASKS("took 12ms then 3.5s then 100us", "took <DUR> then <DUR> then <DUR>");
	/* a number and its size unit are one token (category 6) */
	MASKS("sent 5.2 KB, 300 MB and 1190 bytes (64k, 512MB)",
	      "sent <SIZE>, <SIZE> and <SIZE> (<SIZE>, <SIZE>)");
	MASKS("took 300 ms and 1.5 s", "took <DUR> and <DUR>");
	MASKS("BSSID changed to da:19:99:77:ec:4f", "BSSID changed to <MAC>");
	MASKS("flags 0x1f2E", "flags <HEX>");
	MASKS("block blk_-6952295868487656571 and attempt_1445144423722_0020_m_000000_0",
	      "block blk_<ID> and attempt_<ID>");
	MASKS("host MININT-FNANLI5 and MININT-FNANLI5.fareast.corp", "host MININT-<ID> and <NAME>");
	/* a dotted name ending in an upper-case constant is that constant (category 3) */
	MASKS("class org.apache.hadoop.Foo$Bar, action:android.intent.action.SCREEN_ON",
	      "class <NAME>, action:android.intent.action.SCREEN_ON");
	MASKS("got com.acme.event.DISK_FULL then com.acme.event.DISK_OK",
	      "got com.acme.event.DISK_FULL then com.acme.event.DISK_OK");
	MASKS("due to java.io.IOException: e.g. workerEnv.init()",
	      "due to java.io.IOException: e.g. workerEnv.init()");
	MASKS("count -12 of 3.5 and #7.", "count <NUM> of <NUM> and #<NUM>.");
	masker_free(mk);
}
END_TEST

START_TEST(masks_paths_and_key_values)
{
	struct masker *mk = masker_new(NULL, NULL);
	MASKS("open /var/log/app.log: denied", "open <PATH>: denied");
	MASKS("load C:\\Windows\\System32\\x.dll", "load <PATH>");
	MASKS("rack /default-rack", "rack /default-rack");
	/* unquoted values go to the other masks; words stay (mode=fast vs mode=safe, category 3) */
	MASKS("logname= uid=0 tty=ssh user=root", "logname= uid=<NUM> tty=ssh user=root");
	MASKS("acquire lock=23, tag=\"View Lock\", ws=null", "acquire lock=<NUM>, tag=<*>, ws=null");
	MASKS("start mode=fast enabled=true", "start mode=fast enabled=true");
	masker_free(mk);
}
END_TEST

START_TEST(leaves_words_alone)
{
	struct masker *mk = masker_new(NULL, NULL);
	MASKS("Interrupted while waiting for message on queue",
	      "Interrupted while waiting for message on queue");
	MASKS("12msx abc123def", "<ID> <ID>");
	MASKS("don't 'quote' me", "don't 'quote' me");
	MASKS("", "");
	masker_free(mk);
}
END_TEST

START_TEST(builtins_are_configurable)
{
	struct ac_error err = { 0 };
	struct masker *mk = masker_new(&(struct mask_config){ "quoted,number" }, &err);
	ck_assert_ptr_nonnull(mk);
	MASKS("said 'hello there' 42 times to 10.0.0.1", "said <STR> <NUM> times to 10.0.0.1");
	ck_assert_str_eq(masker_builtins(mk), "quoted,number");
	masker_free(mk);
	ck_assert_ptr_null(masker_new(&(struct mask_config){ "number,bogus" }, &err));
	ck_assert_int_eq(err.code, AC_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "bogus"));
	mk = masker_new(&(struct mask_config){ "" }, NULL);
	MASKS("port 80", "port 80");
	masker_free(mk);
}
END_TEST

START_TEST(user_masks_run_first)
{
	struct ac_error err = { 0 };
	struct masker *mk = masker_new(NULL, NULL);
	ck_assert_int_eq(masker_add_spec(mk, "tenant=acme-[a-z]+", &err), 0);
	MASKS("tenant acme-blue has 3 users", "tenant <TENANT> has <NUM> users");
	ck_assert_int_eq(masker_add_regex(mk, "bad", "(unclosed", &err), AC_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "offset"));
	ck_assert_int_eq(masker_add_spec(mk, "noequals", &err), AC_EINVAL);
	ck_assert_int_eq(masker_add_regex(mk, "sp ace", "x", &err), AC_EINVAL);
	/* an empty-matching pattern must not loop */
	ck_assert_int_eq(masker_add_regex(mk, "empty", "z*", &err), 0);
	MASKS("abc", "abc");
	masker_free(mk);
}
END_TEST

START_TEST(output_is_bounded)
{
	struct masker *mk = masker_new(NULL, NULL);
	char small[8];
	size_t n = masker_apply(mk, "1 2 3 4 5 6", 11, small, sizeof small);
	ck_assert_uint_le(n, sizeof small - 1);
	ck_assert_uint_eq(strlen(small), n);
	ck_assert_str_eq(small, "<NUM> ");
	ck_assert(mask_is_param("x=<*>", 5));
	ck_assert(mask_is_param("blk_<ID>", 8));
	ck_assert(!mask_is_param("<init>", 6));
	ck_assert(!mask_is_param("a<b", 3));
	masker_free(mk);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mask");
	TCase *tc = tcase_create("mask");

	tcase_add_test(tc, masks_network_values);
	tcase_add_test(tc, masks_ids_hashes_and_times);
	tcase_add_test(tc, masks_paths_and_key_values);
	tcase_add_test(tc, leaves_words_alone);
	tcase_add_test(tc, builtins_are_configurable);
	tcase_add_test(tc, user_masks_run_first);
	tcase_add_test(tc, output_is_bounded);
	suite_add_tcase(s, tc);
	return ac_check_run(s);
}
