/*
 * gen_mhd_ref.c — the reference server of `make bench-generated`: a minimal libmicrohttpd
 * handler configured exactly like a generated system's APIEndpoint (internal epoll polling,
 * a pool of 2 threads, suspend/resume allowed, turbo) that answers every GET with a fixed
 * todo-sized JSON document. The generated todo API's GET-by-id rate is reported as a fraction
 * of this one, measured in the same run.
 *
 * usage: gen_mhd_ref PORT   — listens on 127.0.0.1:PORT until SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char doc[] = "{\"title\":\"bench item\",\"done\":false,\"id\":\"00000000000000000000000000000001\"}";

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **req_cls)
{
	static int marker;
	struct MHD_Response *r;
	enum MHD_Result ret;
	(void)cls, (void)url, (void)method, (void)version, (void)upload;
	if (!*req_cls) {
		*req_cls = &marker;
		return MHD_YES;
	}
	*upload_size = 0;
	r = MHD_create_response_from_buffer(sizeof doc - 1, (void *)doc, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct MHD_Daemon *d;
	sigset_t stop;
	int sig;

	if (argc != 2) {
		fprintf(stderr, "usage: gen_mhd_ref PORT\n");
		return 2;
	}
	sa.sin_port = htons((uint16_t)strtol(argv[1], NULL, 10));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO, 0, NULL, NULL, on_request, NULL,
			     MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_THREAD_POOL_SIZE, 2u,
			     MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_CONNECTION_LIMIT, 4096u,
			     MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "gen_mhd_ref: cannot listen on port %s\n", argv[1]);
		return 1;
	}
	sigwait(&stop, &sig);
	MHD_stop_daemon(d);
	return 0;
}
