#version 450
// Q5_0 rows: see matvec_legacy.glsl.
#extension GL_GOOGLE_include_directive : require
#define TYPE 50
#include "matvec_legacy.glsl"
