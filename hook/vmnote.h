/* How the microVM runner's remarks reach the user (the library prints
 * nothing: it hands them to a callback, this one). */
#ifndef SHUNT_VMNOTE_H
#define SHUNT_VMNOTE_H

/* Routes the microVM runner's notes to stderr as "shunt: ..." lines. A
 * long step (the guest image's first build) is one line updated in place
 * when stderr is a terminal, else its first line only. */
void shunt_vmnote_install(void);

#endif
