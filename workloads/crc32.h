/*
 * crc32: the CRC-32 that nginx hashes short keys with (ngx_crc32_short).
 *
 * It is the common CRC-32 of zip and Ethernet (reflected polynomial
 * 0xedb88320, initial value and final xor 0xffffffff), computed four bits
 * at a time from a 16-entry table: nginx uses that form for short keys
 * because the table fits in one cache line, where the byte-wise table of
 * 1 KiB would evict useful lines for a few bytes of key.  The value is the
 * same as any other CRC-32's; what matters to the emulations that use it
 * (workloads/shdict.h) is that it is exactly the value nginx puts in a red-
 * black tree node's key, so that trees of equal keys have equal shapes.
 */
#ifndef SHMBENCH_CRC32_H
#define SHMBENCH_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32 of len bytes at p, nibble by nibble as ngx_crc32_short does. */
uint32_t crc32_short(const unsigned char *p, size_t len);

/* The same CRC computed bit by bit from the polynomial, with no table: the
 * definition the table is checked against. */
uint32_t crc32_bitwise(const unsigned char *p, size_t len);

#endif
