/*
 * The command line's internal face: one file per command.
 */
#ifndef CAIRN_CLI_H
#define CAIRN_CLI_H

#include <stddef.h>

int cmd_run(int argc, char **argv);
int cmd_checkpoint(int argc, char **argv);
int cmd_restart(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_mpirun(int argc, char **argv);
/* BLCR's commands (blcr.c), when the binary is called by their names */
int cmd_cr_run(int argc, char **argv);
int cmd_cr_checkpoint(int argc, char **argv);
int cmd_cr_restart(int argc, char **argv);

/* Where this cairn is installed: FILE relative to the directory above the
 * one holding the cairn binary (bin/../lib/libcairn.so). */
int cli_sibling(const char *rel, char *out, size_t len);
int wants_help(int argc, char **argv);
/* A signal given as a number or a name (TERM, SIGTERM); -1 if neither. */
int cli_signal(const char *s);

#endif
