#version 450
// Q3_K weights, prompt tiles: see matmat.glsl.
#extension GL_GOOGLE_include_directive : require
#define TYPE 1003
#define ACT 256
#include "matmat.glsl"
