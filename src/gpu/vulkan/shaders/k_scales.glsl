// The 6-bit scale and minimum of sub-block s (0..7) of a Q4_K/Q5_K super-block whose 12 scale
// bytes start at word sb, as the CPU unpacks them. The includer defines byte_at(word, i).
uvec2 k_scale_min(uint sb, uint s) {
  if (s < 4) return uvec2(byte_at(sb, s) & 63u, byte_at(sb, s + 4) & 63u);
  return uvec2((byte_at(sb, s + 4) & 15u) | ((byte_at(sb, s - 4) >> 6) << 4),
               (byte_at(sb, s + 4) >> 4) | ((byte_at(sb, s) >> 6) << 4));
}
