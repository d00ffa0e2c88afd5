/* SPDX-License-Identifier: MIT */
/* The compiled-in trust anchors: generated at build time from the PEM files in certs/
 * by ca_gen (see the Makefile), so the binary needs no files on disk. */
#ifndef CA_BUNDLE_H
#define CA_BUNDLE_H

#include <stddef.h>

#include <bearssl.h>

extern const br_x509_trust_anchor ca_bundle[];
extern const size_t ca_bundle_count;

#endif
