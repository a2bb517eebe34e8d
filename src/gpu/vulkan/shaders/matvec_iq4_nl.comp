#version 450
// IQ4_NL rows: see matvec_legacy.glsl.
#extension GL_GOOGLE_include_directive : require
#define TYPE 40
#include "matvec_legacy.glsl"
