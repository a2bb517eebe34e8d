#version 450
// MXFP4 weights, prompt tiles: see matmat.glsl.
#extension GL_GOOGLE_include_directive : require
#define TYPE 4
#define ACT 32
#include "matmat.glsl"
