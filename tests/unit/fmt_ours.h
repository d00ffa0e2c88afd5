/* SPDX-License-Identifier: MIT */
/* port/fmt.c, the static router build's printf family, compiled under
 * fmt_test_ names (FILE is fmt_test_FILE) beside this libc's, for the unit
 * tests and the fuzz target. Include it before any libc header that
 * declares FILE. */
#ifndef FMT_OURS_H
#define FMT_OURS_H

#define vsnprintf fmt_test_vsnprintf
#define snprintf fmt_test_snprintf
#define vfprintf fmt_test_vfprintf
#define fprintf fmt_test_fprintf
#define vprintf fmt_test_vprintf
#define printf fmt_test_printf
#define fwrite fmt_test_fwrite
#define fputs fmt_test_fputs
#define puts fmt_test_puts
#define fputc fmt_test_fputc
#define putc fmt_test_putc
#define putchar fmt_test_putchar
#define fflush fmt_test_fflush
#define ferror fmt_test_ferror
#define stdout fmt_test_stdout
#define stderr fmt_test_stderr
#define FILE fmt_test_FILE
#define _IO_FILE fmt_test_io_file
#include "../../port/fmt.c"
#undef vsnprintf
#undef snprintf
#undef vfprintf
#undef fprintf
#undef vprintf
#undef printf
#undef fwrite
#undef fputs
#undef puts
#undef fputc
#undef putc
#undef putchar
#undef fflush
#undef ferror
#undef stdout
#undef stderr
#undef FILE
#undef _IO_FILE

#endif
