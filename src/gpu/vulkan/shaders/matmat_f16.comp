#version 450
// F16 weights, prompt tiles: see matmat.glsl.
#extension GL_GOOGLE_include_directive : require
#define TYPE 1600
#define ACT 0
#include "matmat.glsl"
