/* micromamba.exe stand-in for install.bat under wine (no Windows build of
 * micromamba can run here): records its command line and the variables the
 * installer sets into calls.txt next to itself, then, for `create --prefix T
 * --file F`, makes T\conda-meta with F's package list, as a real create would
 * leave a prefix. MICROMAMBA_STANDIN_FAIL=1 makes it fail half-way (the
 * installer must remove T). Built by the test suite with mingw-w64. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

int main(int argc, char **argv) {
    char self[MAX_PATH], calls[MAX_PATH], meta[MAX_PATH], line[4096];
    const char *prefix = NULL, *file = NULL, *vars[] = {"CONDA_PKGS_DIRS", "MAMBA_ROOT_PREFIX",
        "USERPROFILE", "APPDATA", "CONDARC", "MAMBA_ADD_PIP_AS_PYTHON_DEPENDENCY", NULL};
    FILE *out, *in, *list;
    int i;
    GetModuleFileNameA(NULL, self, MAX_PATH);
    *strrchr(self, '\\') = 0;
    snprintf(calls, MAX_PATH, "%s\\calls.txt", self);
    out = fopen(calls, "a");
    for (i = 1; i < argc; i++) fprintf(out, "%s%s", i > 1 ? " " : "", argv[i]);
    fprintf(out, "\n");
    for (i = 0; vars[i]; i++) fprintf(out, "%s=%s\n", vars[i], getenv(vars[i]) ? getenv(vars[i]) : "");
    fclose(out);
    for (i = 1; i + 1 < argc; i++) {
        if (!strcmp(argv[i], "--prefix")) prefix = argv[i + 1];
        if (!strcmp(argv[i], "--file")) file = argv[i + 1];
    }
    if (argc < 2 || strcmp(argv[1], "create") || !prefix || !file) return 2;
    CreateDirectoryA(prefix, NULL);
    snprintf(meta, MAX_PATH, "%s\\conda-meta", prefix);
    CreateDirectoryA(meta, NULL);
    if (getenv("MICROMAMBA_STANDIN_FAIL")) return 1;
    snprintf(meta, MAX_PATH, "%s\\conda-meta\\standin-explicit.txt", prefix);
    in = fopen(file, "r");
    list = fopen(meta, "w");
    if (!in || !list) return 1;
    while (fgets(line, sizeof line, in)) fputs(line, list);
    fclose(in);
    fclose(list);
    return 0;
}
