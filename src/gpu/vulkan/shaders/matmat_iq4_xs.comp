#version 450
// IQ4_XS weights, prompt tiles: see matmat.glsl.
#extension GL_GOOGLE_include_directive : require
#define TYPE 1104
#define ACT 256
#include "matmat.glsl"
