/* Escape attempts for the sandbox tests, plus the host-side listeners
 * they aim at. An attempt exits 0 when it was blocked and 1 when it
 * got through, printing which.
 *
 *   escape tiocsti                 push a keystroke into fd 0's terminal
 *   escape ptrace PID              attach to PID
 *   escape connect-abstract NAME   connect to @NAME
 *   escape connect-tcp PORT        connect to 127.0.0.1:PORT
 *   escape listen-abstract NAME FLAG   (host) listen on @NAME; a line in FLAG per connection
 *   escape listen-tcp PORTFILE FLAG    (host) listen on loopback, write the port; likewise
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

static int verdict(int r, const char *what)
{
	if (r == 0) {
		printf("ESCAPED: %s succeeded\n", what);
		return 1;
	}
	printf("blocked: %s: %s\n", what, strerror(errno));
	return 0;
}

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	size_t n = strlen(name);
	if (n > sizeof(a->sun_path) - 2)
		n = sizeof(a->sun_path) - 2;
	memcpy(a->sun_path + 1, name, n);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

/* Accepts connections for 60 s, appending a line to flag for each. */
static int serve(int s, const char *flag)
{
	alarm(60);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0)
			return errno == EINTR ? 0 : 2;
		int fd = open(flag, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			ssize_t w = write(fd, "connected\n", 10);
			(void)w;
			close(fd);
		}
		close(c);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return fprintf(stderr, "usage: escape ATTEMPT [ARGS]\n"), 2;
	const char *cmd = argv[1];
	if (strcmp(cmd, "tiocsti") == 0) {
		char c = '#';
		if (!isatty(0))
			printf("note: fd 0 is not a terminal\n");
		return verdict(ioctl(0, TIOCSTI, &c), "ioctl(TIOCSTI)");
	}
	if (strcmp(cmd, "ptrace") == 0 && argc > 2) {
		pid_t pid = (pid_t)atoi(argv[2]);
		return verdict((int)ptrace(PTRACE_ATTACH, pid, NULL, NULL),
			       "ptrace(PTRACE_ATTACH)");
	}
	if (strcmp(cmd, "connect-abstract") == 0 && argc > 2) {
		struct sockaddr_un a;
		socklen_t len = abstract_addr(&a, argv[2]);
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (s < 0)
			return verdict(-1, "socket(AF_UNIX)");
		return verdict(connect(s, (struct sockaddr *)&a, len),
			       "connect(abstract unix socket)");
	}
	if (strcmp(cmd, "connect-tcp") == 0 && argc > 2) {
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_port = htons((uint16_t)atoi(argv[2])),
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0)
			return verdict(-1, "socket(AF_INET)");
		return verdict(connect(s, (struct sockaddr *)&a, sizeof(a)), "connect(127.0.0.1)");
	}
	if (strcmp(cmd, "listen-abstract") == 0 && argc > 3) {
		struct sockaddr_un a;
		socklen_t len = abstract_addr(&a, argv[2]);
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (s < 0 || bind(s, (struct sockaddr *)&a, len) < 0 || listen(s, 8) < 0)
			return perror("bind"), 2;
		return serve(s, argv[3]);
	}
	if (strcmp(cmd, "listen-tcp") == 0 && argc > 3) {
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t len = sizeof(a);
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 8) < 0 ||
		    getsockname(s, (struct sockaddr *)&a, &len) < 0)
			return perror("bind"), 2;
		FILE *f = fopen(argv[2], "w");
		if (!f)
			return perror(argv[2]), 2;
		fprintf(f, "%d\n", ntohs(a.sin_port));
		fclose(f);
		return serve(s, argv[3]);
	}
	fprintf(stderr, "escape: unknown attempt '%s'\n", cmd);
	return 2;
}
