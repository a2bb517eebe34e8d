#version 450
// Q4_1 rows: see matvec_legacy.glsl.
#extension GL_GOOGLE_include_directive : require
#define TYPE 41
#include "matvec_legacy.glsl"
