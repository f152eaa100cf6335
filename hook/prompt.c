#include "prompt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"

static void tty_write(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		s += w;
		n -= (size_t)w;
	}
}

/* Reads one line from the terminal in canonical mode; -1 on EOF/error. */
static int tty_read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return n ? (int)n : -1;
		if (c == '\n' || c == '\r')
			break;
		if (n + 1 < cap)
			buf[n++] = c;
	}
	buf[n] = '\0';
	return (int)n;
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

enum shunt_prompt_answer shunt_prompt_ask(const char *cmd, const struct shunt_decision *d,
					  const char *details)
{
	_cleanup_close_ int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return SHUNT_PROMPT_NO_TTY;
	struct termios saved, t;
	bool restore = tcgetattr(fd, &saved) == 0;
	if (restore) {
		t = saved;
		t.c_lflag |= ICANON | ECHO;
		tcsetattr(fd, TCSANOW, &t);
	}
	char head[2048];
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
	snprintf(head, sizeof(head),
		 "\nshunt: this command needs your approval\n"
		 "  command: %.1500s\n"
		 "  risk:    %s (score %d)%s\n"
		 "  why:     %s\n",
		 cmd, shunt_risk_name(d->risk), d->score, rules, d->why);
	tty_write(fd, head);
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
		if (tty_read_line(fd, buf, sizeof(buf)) < 0) {
			tty_write(fd, "\n");
			ans = SHUNT_PROMPT_NO;
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
	return ans;
}
