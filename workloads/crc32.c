/*
 * crc32: nginx's short-key CRC-32 (crc32.h says which CRC and why by
 * nibbles).  Entry i of the table is the CRC register after shifting the
 * four bits of i through the reflected polynomial; each input byte takes
 * two lookups, low nibble first.
 */
#include "crc32.h"

#define CRC32_POLY 0xedb88320u

static const uint32_t crc32_nibble[16] = {
    0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
    0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
    0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
    0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c
};

uint32_t
crc32_short(const unsigned char *p, size_t len)
{
    uint32_t crc = 0xffffffffu;
    unsigned c;

    while (len--) {
        c = *p++;
        crc = crc32_nibble[(crc ^ (c & 0xf)) & 0xf] ^ (crc >> 4);
        crc = crc32_nibble[(crc ^ (c >> 4)) & 0xf] ^ (crc >> 4);
    }
    return crc ^ 0xffffffffu;
}

uint32_t
crc32_bitwise(const unsigned char *p, size_t len)
{
    uint32_t crc = 0xffffffffu;
    int      k;

    while (len--) {
        crc ^= *p++;
        for (k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ ((crc & 1) ? CRC32_POLY : 0);
        }
    }
    return crc ^ 0xffffffffu;
}
