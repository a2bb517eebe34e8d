#version 450
// As matvec_iq4_nl.comp, for the experts of a MoE layer (matvec_io.glsl).
#extension GL_GOOGLE_include_directive : require
#define EXPERT_IDS 1
#define TYPE 40
#include "matvec_legacy.glsl"
