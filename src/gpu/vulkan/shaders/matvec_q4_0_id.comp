#version 450
// As matvec_q4_0.comp, for the experts of a MoE layer (matvec_io.glsl).
#extension GL_GOOGLE_include_directive : require
#define EXPERT_IDS 1
#define Q8 0
#include "matvec_q4_0_q8_0.glsl"
