// Weight-block layouts shared by the matvec and matmat shaders of the same types. The includer
// declares the weights as `uint w[]` and push constants `p` with scale_off, and, for the
// 32-element types with an offset, a minimum, a 5th bit or a value table, defines TYPE as
// matvec_legacy.glsl numbers them (41 Q4_1, 50 Q5_0, 51 Q5_1, 4 MXFP4, 40 IQ4_NL).

// Byte i of the bytes from word `base`.
uint byte_at(uint base, uint i) { return (w[base + i / 4] >> (8 * (i % 4))) & 0xffu; }

// IQ4_NL's 16 values (IQ4_NL and IQ4_XS codes), and MXFP4's e2m1 values doubled.
const int kIq4nlValues[16] =
    int[16](-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
const int kMxfp4Values[16] = int[16](0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12);

// Q4_0/Q8_0 as uploaded: block i's fp16 scale, two to a word from scale_off.
float q_scale(uint i) {
  const vec2 f = unpackHalf2x16(w[p.scale_off + i / 2]);
  return (i & 1u) == 0u ? f.x : f.y;
}

// Q4_K/Q5_K: the 6-bit scale and minimum of sub-block s (0..7) of a super-block whose 12
// scale bytes start at word sb, as the CPU unpacks them.
uvec2 k_scale_min(uint sb, uint s) {
  if (s < 4) return uvec2(byte_at(sb, s) & 63u, byte_at(sb, s + 4) & 63u);
  return uvec2((byte_at(sb, s + 4) & 15u) | ((byte_at(sb, s - 4) >> 6) << 4),
               (byte_at(sb, s + 4) >> 4) | ((byte_at(sb, s) >> 6) << 4));
}

// Q3_K (28-word slots): the signed 6-bit scale of 16-element group g, its low nibble in scale
// byte g % 8 (nibble g / 8), bits 2 (g / 4).. of byte 8 + g % 4 above it, less 32.
int q3k_scale(uint base, uint g) {
  const uint lo = (byte_at(base + 24, g % 8) >> (4 * (g / 8))) & 15u;
  const uint hi = (byte_at(base + 24, 8 + g % 4) >> (2 * (g / 4))) & 3u;
  return int(lo | (hi << 4)) - 32;
}

// IQ4_XS (34-word blocks): sub-block i's 6-bit scale, nibble i % 2 of scales_l[i / 2] with bits
// 2i..2i+1 of scales_h above it, less 32.
int iq4xs_scale(uint base, uint i) {
  const uint lo = (w[base + 1] >> (8 * (i / 2) + 4 * (i % 2))) & 15u;
  const uint hi = (w[base] >> (16 + 2 * i)) & 3u;
  return int(lo | (hi << 4)) - 32;
}

#if defined(TYPE) && (TYPE == 4 || TYPE == 40 || TYPE == 41 || TYPE == 50 || TYPE == 51)
// Blocks as stored, each padded to SLOT words; the 16 code bytes from byte CODES, element
// j < 16 the low nibble of code byte j, element j + 16 its high nibble.
#if TYPE == 4
const uint SLOT = 5u, CODES = 1u;  // e, 16 code bytes
#elif TYPE == 40
const uint SLOT = 5u, CODES = 2u;  // d, 16 code bytes
#elif TYPE == 41
const uint SLOT = 5u, CODES = 4u;  // d|m, 16 code bytes
#elif TYPE == 50
const uint SLOT = 6u, CODES = 6u;  // d, qh (bytes 2..5), 16 code bytes
#else
const uint SLOT = 6u, CODES = 8u;  // d|m, qh, 16 code bytes
#endif

// The block's scale d (MXFP4: 2^(e - 128) from its e8m0 byte, exact below e = 2 too) and its
// minimum m (Q4_1/Q5_1; 0 for the others).
vec2 legacy_dm(uint base) {
#if TYPE == 4
  const uint e = w[base] & 0xffu;
  return vec2(uintBitsToFloat(e < 2u ? (0x00200000u << e) : ((e - 1u) << 23)), 0.0);
#elif TYPE == 41 || TYPE == 51
  return unpackHalf2x16(w[base]);
#else
  return vec2(unpackHalf2x16(w[base]).x, 0.0);
#endif
}

// The 5th bits of the block's 32 elements (Q5_0/Q5_1), else 0.
uint legacy_qh(uint base) {
#if TYPE == 50
  return (w[base] >> 16) | (w[base + 1] << 16);
#elif TYPE == 51
  return w[base + 1];
#else
  return 0u;
#endif
}

// An element's value from its code (nibble plus 16 * its 5th bit): less 16 for Q5_0, MXFP4's
// e2m1 values doubled, IQ4_NL's table.
int legacy_value(uint code) {
#if TYPE == 50
  return int(code) - 16;
#elif TYPE == 4
  return kMxfp4Values[code];
#elif TYPE == 40
  return kIq4nlValues[code];
#else
  return int(code);
#endif
}
#endif
