/* The microVM runner's notes on stderr (see vmnote.h). */
#include "vmnote.h"

#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "microvm.h"

struct vmnote_state {
	int tty;      /* -1: not asked yet (no syscall on runs that never note) */
	bool in_step; /* a progress line was started */
};

static void vmnote(void *ctx, enum shunt_microvm_note kind, const char *line)
{
	struct vmnote_state *st = ctx;
	if (st->tty < 0)
		st->tty = isatty(2) == 1;
	switch (kind) {
	case SHUNT_MICROVM_NOTE:
		if (st->in_step && st->tty)
			fputc('\n', stderr);
		st->in_step = false;
		fprintf(stderr, "shunt: %s\n", line);
		break;
	case SHUNT_MICROVM_PROGRESS:
		if (st->tty)
			fprintf(stderr, "\r\033[Kshunt: %s", line);
		else if (!st->in_step)
			fprintf(stderr, "shunt: %s\n", line);
		st->in_step = true;
		break;
	case SHUNT_MICROVM_PROGRESS_END:
		/* without a terminal the step's first line said it all */
		if (st->tty)
			fprintf(stderr, "\r\033[Kshunt: %s\n", line);
		st->in_step = false;
		break;
	}
	fflush(stderr);
}

void shunt_vmnote_install(void)
{
	static struct vmnote_state st;
	st.tty = -1;
	shunt_microvm_set_notify(vmnote, &st);
}
