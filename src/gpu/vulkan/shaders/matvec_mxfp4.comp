#version 450
// MXFP4 rows (gpt-oss's experts): see matvec_legacy.glsl.
#extension GL_GOOGLE_include_directive : require
#define TYPE 4
#include "matvec_legacy.glsl"
