#include "prompt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

#define DEFAULT_COLUMNS 200

static volatile sig_atomic_t g_abandoned;

static void on_abandon(int sig)
{
	(void)sig;
	g_abandoned = 1;
}

static void tty_write(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0) {
			if (errno == EINTR && !g_abandoned)
				continue;
			return;
		}
		s += w;
		n -= (size_t)w;
	}
}

enum read_result { READ_LINE, READ_EOF, READ_TIMEOUT, READ_ABANDONED };

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Reads one line from the terminal in canonical mode, waiting at most
 * timeout seconds (0: no limit) for it. */
static enum read_result tty_read_line(int fd, char *buf, size_t cap, unsigned timeout)
{
	size_t n = 0;
	long long deadline = timeout ? now_ms() + (long long)timeout * 1000 : 0;
	for (;;) {
		if (g_abandoned)
			return READ_ABANDONED;
		if (deadline) {
			long long left = deadline - now_ms();
			if (left <= 0)
				return READ_TIMEOUT;
			struct pollfd p = {.fd = fd, .events = POLLIN};
			int pr = poll(&p, 1, left > 60000 ? 60000 : (int)left);
			if (pr < 0 && errno == EINTR)
				continue;
			if (pr == 0)
				continue; /* the loop head tells a timeout */
		}
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (!n)
				return READ_EOF;
			break;
		}
		if (c == '\n' || c == '\r')
			break;
		if (n + 1 < cap)
			buf[n++] = c;
	}
	buf[n] = '\0';
	return READ_LINE;
}

static const char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

size_t shunt_prompt_columns(int fd)
{
	struct winsize ws;
	if (fd >= 0 && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	_cleanup_close_ int t = open("/dev/tty", O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (t >= 0 && ioctl(t, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return DEFAULT_COLUMNS;
}

/* Columns of s[0..n) (one per UTF-8 character, as a terminal mostly shows
 * them). */
static size_t columns_of(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			c++;
	return c;
}

static void put_visible(struct shunt_buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		shunt_buf_putc(out, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
}

void shunt_prompt_cut(struct shunt_buf *out, const char *cmd, size_t room)
{
	size_t len = strlen(cmd);
	if (columns_of(cmd, len) <= room) {
		put_visible(out, cmd, len);
		return;
	}
	char suffix[48];
	int sn = snprintf(suffix, sizeof(suffix), "... (%zu bytes)", len);
	size_t keep_cols = room > (size_t)sn + 8 ? room - (size_t)sn : 8;
	size_t i = 0, cols = 0;
	while (i < len) {
		if (((unsigned char)cmd[i] & 0xC0) != 0x80) {
			if (cols == keep_cols)
				break;
			cols++;
		}
		i++;
	}
	put_visible(out, cmd, i);
	shunt_buf_puts(out, suffix);
}

void shunt_prompt_say(const char *prefix, const char *cmd, const char *suffix)
{
	struct shunt_buf b = {0};
	shunt_buf_puts(&b, prefix);
	size_t cols = shunt_prompt_columns(STDERR_FILENO);
	shunt_prompt_cut(&b, cmd, cols > b.len + 20 ? cols - b.len : 20);
	shunt_buf_puts(&b, suffix);
	shunt_buf_putc(&b, '\n');
	if (b.data)
		fputs(b.data, stderr);
	shunt_buf_free(&b);
}

/* Catches the signals that abandon a prompt; saved[] gets the old ones. */
static const int abandon_sigs[] = {SIGINT, SIGHUP, SIGTERM};
#define NABANDON (sizeof(abandon_sigs) / sizeof(*abandon_sigs))

static void catch_abandon(struct sigaction saved[NABANDON])
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_abandon; /* no SA_RESTART: a blocked read returns */
	sigemptyset(&sa.sa_mask);
	g_abandoned = 0;
	for (size_t i = 0; i < NABANDON; i++)
		sigaction(abandon_sigs[i], &sa, &saved[i]);
}

static void restore_abandon(const struct sigaction saved[NABANDON])
{
	for (size_t i = 0; i < NABANDON; i++)
		sigaction(abandon_sigs[i], &saved[i], NULL);
}

static void write_head(int fd, const char *cmd, const struct shunt_decision *d, unsigned timeout)
{
	struct shunt_buf b = {0};
	char rules[512] = "";
	size_t w = 0;
	for (size_t i = 0; i < d->nrules && w + 2 < sizeof(rules); i++) {
		int n =
		    snprintf(rules + w, sizeof(rules) - w, "%s%s", i ? ", " : " [", d->rules[i]);
		if (n < 0)
			break;
		w += (size_t)n;
	}
	if (w && w + 2 < sizeof(rules))
		strcat(rules, "]");
	static const char label[] = "  command: ";
	size_t cols = shunt_prompt_columns(fd);
	shunt_buf_printf(&b, "\nshunt: this command needs your approval\n%s", label);
	shunt_prompt_cut(&b, cmd, cols > sizeof(label) ? cols - (sizeof(label) - 1) - 1 : 40);
	shunt_buf_printf(&b, "\n  risk:    %s (score %d)%s\n  why:     %s\n",
			 shunt_risk_name(d->risk), d->score, rules, d->why);
	if (timeout)
		shunt_buf_printf(&b, "  (no answer in %u s counts as no)\n", timeout);
	if (b.data)
		tty_write(fd, b.data);
	shunt_buf_free(&b);
}

enum shunt_prompt_answer shunt_prompt_ask(const char *cmd, const struct shunt_decision *d,
					  const char *details, unsigned timeout)
{
	_cleanup_close_ int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return SHUNT_PROMPT_NO_TTY;
	struct sigaction saved_sigs[NABANDON];
	catch_abandon(saved_sigs);
	struct termios saved, t;
	bool restore = tcgetattr(fd, &saved) == 0;
	if (restore) {
		t = saved;
		t.c_lflag |= ICANON | ECHO | ISIG;
		tcsetattr(fd, TCSANOW, &t);
	}
	write_head(fd, cmd, d, timeout);
	enum shunt_prompt_answer ans = SHUNT_PROMPT_NO;
	bool godmode = d->profile == SHUNT_PROFILE_GODMODE;
	for (;;) {
		if (godmode)
			tty_write(fd, "  It asks for GODMODE: a microVM that may write anywhere "
				      "inside it, broad network.\n"
				      "  [s] sandbox  [d] details  [n] no (default); type GODMODE "
				      "to run it: ");
		else
			tty_write(
			    fd,
			    "  [y] yes, once  [r] yes, and remember  [s] run it in the sandbox\n"
			    "  [d] details    [n] no (default)\n  choose [y/r/s/d/N]: ");
		char buf[128];
		enum read_result rr = tty_read_line(fd, buf, sizeof(buf), timeout);
		if (rr != READ_LINE) {
			tty_write(fd, "\n");
			ans = rr == READ_TIMEOUT     ? SHUNT_PROMPT_TIMEOUT
			      : rr == READ_ABANDONED ? SHUNT_PROMPT_ABANDONED
						     : SHUNT_PROMPT_NO;
			break;
		}
		const char *a = trim(buf);
		if (godmode) {
			if (strcmp(a, "GODMODE") == 0) {
				ans = SHUNT_PROMPT_GODMODE;
				break;
			}
		} else if (strcmp(a, "y") == 0 || strcmp(a, "Y") == 0 || strcmp(a, "yes") == 0) {
			ans = SHUNT_PROMPT_YES;
			break;
		} else if (strcmp(a, "r") == 0 || strcmp(a, "R") == 0) {
			ans = SHUNT_PROMPT_REMEMBER;
			break;
		}
		if (strcmp(a, "s") == 0 || strcmp(a, "S") == 0) {
			ans = SHUNT_PROMPT_SANDBOX;
			break;
		}
		if (strcmp(a, "d") == 0 || strcmp(a, "D") == 0) {
			tty_write(fd, details);
			continue;
		}
		ans = SHUNT_PROMPT_NO;
		break;
	}
	if (restore)
		tcsetattr(fd, TCSANOW, &saved);
	restore_abandon(saved_sigs);
	/* a signal that came after the answer still abandons it */
	if (g_abandoned)
		ans = SHUNT_PROMPT_ABANDONED;
	return ans;
}
