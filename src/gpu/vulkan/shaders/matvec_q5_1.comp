#version 450
// Q5_1 rows: see matvec_legacy.glsl.
#extension GL_GOOGLE_include_directive : require
#define TYPE 51
#include "matvec_legacy.glsl"
