#version 450
// F32 weights, prompt tiles: see matmat.glsl.
#extension GL_GOOGLE_include_directive : require
#define TYPE 3200
#define ACT 0
#include "matmat.glsl"
