#version 450
// As matvec_f16.comp, for the experts of a MoE layer (matvec_io.glsl).
#extension GL_GOOGLE_include_directive : require
#define EXPERT_IDS 1
#define BF16 0
#include "matvec_f16_bf16.glsl"
