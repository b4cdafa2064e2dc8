/*
 * mhd_minimal.c — the reference for `make bench-ingest`: the smallest useful libmicrohttpd
 * server, configured like the collector (internal epoll thread pool with one thread per CPU,
 * suspend/resume and ITC enabled, same connection limits), that reads and discards any request
 * body and answers 200 with a tiny JSON body. Its rate is the ceiling of this HTTP stack on
 * this machine; the collector's single-event rate is reported as a fraction of it.
 *
 * usage: mhd_minimal PORT_FILE   — listens on 127.0.0.1 on a free port, writes the port to
 * PORT_FILE, runs until SIGTERM or SIGINT.
 */
#include "core/common.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <signal.h>

static const char reply_body[] = "{\"ok\":true}\n";

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **req_cls)
{
	static int first_call_marker;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	(void)cls, (void)url, (void)method, (void)version, (void)upload;
	if (*req_cls == NULL) { /* headers only: ask for the body */
		*req_cls = &first_call_marker;
		return MHD_YES;
	}
	if (*upload_size) { /* a body chunk: discard it */
		*upload_size = 0;
		return MHD_YES;
	}
	resp = MHD_create_response_from_buffer(sizeof reply_body - 1, (void *)reply_body,
					       MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "application/json");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
	sigset_t stop;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	FILE *f;
	int sig;

	if (argc != 2) {
		fprintf(stderr, "usage: mhd_minimal PORT_FILE\n");
		return 2;
	}
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL); /* MHD's threads inherit the mask */
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
				     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC,
			     0, NULL, NULL, on_request, NULL,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			     MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cpus > 0 ? cpus : 2),
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned)4000,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
			     MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "mhd_minimal: cannot start the daemon\n");
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || !(f = fopen(argv[1], "w"))) {
		fprintf(stderr, "mhd_minimal: cannot report the port\n");
		MHD_stop_daemon(d);
		return 1;
	}
	fprintf(f, "%u\n", (unsigned)info->port);
	fclose(f);
	sigwait(&stop, &sig);
	MHD_stop_daemon(d);
	return 0;
}
