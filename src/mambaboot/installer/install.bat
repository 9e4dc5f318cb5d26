@echo off
rem Installer for the conda environment "@NAME@" (@PLATFORM@, @COUNT@ packages),
rem written by `mambaboot export` @MAMBABOOT_VERSION@ on @DATE@.
rem
rem   install.bat [TARGET]      (default: @DIRNAME@ next to this script)
rem
rem It needs nothing but cmd.exe: no Python, no conda, no PowerShell.
rem Every step is below; read it before you run it. What it touches:
rem   TARGET                          the new environment (removed again if anything fails)
rem   <TARGET's folder>\.mambaboot-installer-cache
rem                                   micromamba, its package cache and its root prefix
rem What it never touches: the registry (no AutoRun hook), your profile, %%USERPROFILE%%\.conda,
rem .condarc files, or anything else outside those two folders.
setlocal EnableExtensions DisableDelayedExpansion

set "NAME=@NAME@"
set "PLATFORM=@PLATFORM@"
rem micromamba does the actual install. Its version and sha256 are fixed here; a
rem download (or mirror, MICROMAMBA_URL) whose sha256 differs is refused.
set "MICROMAMBA_VERSION=@MM_VERSION@"
set "MICROMAMBA_SHA256=@MM_SHA256@"
if not defined MICROMAMBA_URL set "MICROMAMBA_URL=@MM_URL@"
rem @OFFLINE_NOTE@
set "OFFLINE=@OFFLINE@"
set "EMBEDDED_MICROMAMBA=@MM_FILE@"
set "HERE=%~dp0"

rem 1. One environment per shell: refuse to run inside an active one (its
rem    variables would leak into micromamba and into the new environment).
if defined CONDA_PREFIX goto :active
if defined VIRTUAL_ENV goto :active
if defined CONDA_SHLVL if not "%CONDA_SHLVL%"=="0" goto :active

rem 2. The packages are built for one platform: refuse any other.
if /i not "%PLATFORM%"=="win-64" (
    echo install.bat: this environment is for %PLATFORM%; run install.sh on such a machine. 1>&2
    exit /b 2
)

rem 3. Where it goes: a new folder (an existing one is never replaced).
set "TARGET=%~1"
if "%TARGET%"=="" set "TARGET=%HERE%@DIRNAME@"
for %%I in ("%TARGET%") do set "TARGET=%%~fI"
for %%I in ("%TARGET%") do set "PARENT=%%~dpI"
if exist "%TARGET%" (
    echo install.bat: %TARGET% already exists; remove it or give another folder: install.bat C:\path\to\new-folder 1>&2
    exit /b 2
)
set "WORK=%PARENT%.mambaboot-installer-cache"
set "MM=%WORK%\micromamba\%MICROMAMBA_VERSION%\micromamba.exe"
for %%D in ("%WORK%\micromamba\%MICROMAMBA_VERSION%" "%WORK%\pkgs" "%WORK%\root" "%WORK%\home") do (
    if not exist "%%~D" mkdir "%%~D"
)

rem 4. micromamba: the copy in this folder, one downloaded before, or a download
rem    (curl.exe ships with Windows 10 and later; retried); whichever it is, its
rem    sha256 (certutil) must be the one above.
rem    (Plain gotos rather than if/else blocks: every cmd.exe reads them alike.)
if not "%EMBEDDED_MICROMAMBA%"=="" goto :copy_embedded
if exist "%MM%" goto :copy_cached
if "%OFFLINE%"=="1" goto :nobinary
echo Downloading micromamba %MICROMAMBA_VERSION% from %MICROMAMBA_URL%
curl.exe -fsSL --retry 3 --retry-delay 2 -o "%MM%.part" "%MICROMAMBA_URL%" || goto :nodownload
goto :check_binary
:copy_embedded
copy /y "%HERE%%EMBEDDED_MICROMAMBA:/=\%" "%MM%.part" >nul
goto :check_binary
:copy_cached
copy /y "%MM%" "%MM%.part" >nul
:check_binary
rem (copy's exit status differs between cmd.exe versions: the file itself is checked)
if not exist "%MM%.part" goto :nobinary
set "GOT="
for /f "skip=1 delims=" %%H in ('certutil -hashfile "%MM%.part" SHA256') do if not defined GOT set "GOT=%%H"
if defined GOT set "GOT=%GOT: =%"
if /i not "%GOT%"=="%MICROMAMBA_SHA256%" goto :badbinary
move /y "%MM%.part" "%MM%" >nul

rem 5. The packages: with an --offline export they are in pkgs\ here; micromamba
rem    checks each one against the sha256 in env.txt either way.
set "OFFLINE_FLAG="
if "%OFFLINE%"=="1" set "OFFLINE_FLAG=--offline"
if "%OFFLINE%"=="1" copy /y "%HERE%pkgs\*" "%WORK%\pkgs\" >nul

rem 6. micromamba creates the environment from the exact package list, once: no
rem    CONDA*/MAMBA* variables or rc files, its own root prefix and package cache,
rem    and USERPROFILE/APPDATA in the cache folder, so nothing lands in yours.
for /f "delims==" %%V in ('set CONDA 2^>nul') do set "%%V="
for /f "delims==" %%V in ('set MAMBA 2^>nul') do set "%%V="
set "CONDA_PKGS_DIRS=%WORK%\pkgs"
set "MAMBA_ROOT_PREFIX=%WORK%\root"
set "MAMBA_ADD_PIP_AS_PYTHON_DEPENDENCY=false"
set "USERPROFILE=%WORK%\home"
set "HOME=%WORK%\home"
set "APPDATA=%WORK%\home\AppData\Roaming"
set "LOCALAPPDATA=%WORK%\home\AppData\Local"
echo Creating %TARGET% (%NAME%, @COUNT@ packages)
"%MM%" create --yes --prefix "%TARGET%" --file "%HERE%env.txt" --no-rc --root-prefix "%WORK%\root" %OFFLINE_FLAG%
if errorlevel 1 goto :failed
rem micromamba 2.3 lists the .pyc files of noarch: python packages (conda among them)
rem in conda-meta but does not write them when it installs from an explicit list:
rem the environment's own python compiles them, as a create from a solve does.
if exist "%TARGET%\python.exe" "%TARGET%\python.exe" -m compileall -q -j 0 "%TARGET%\Lib\site-packages" >nul 2>&1

rem 7. What mambaboot writes into every environment, so that `mambaboot list`,
rem    `verify` and `remove` treat this one as their own: the activation scripts
rem    (portable: they find the environment from their own location), the lock,
rem    and env.json last (its presence means "complete").
mkdir "%TARGET%\.mambaboot"
if not exist "%TARGET%\.mambaboot" goto :failed
for %%F in (activate.bat deactivate.bat activate.ps1 activate.sh activate.fish) do if exist "%HERE%mambaboot\%%F" copy /y "%HERE%mambaboot\%%F" "%TARGET%\" >nul
if exist "%HERE%mambaboot\condarc" copy /y "%HERE%mambaboot\condarc" "%TARGET%\.condarc" >nul
copy /y "%HERE%lock.yml" "%TARGET%\.mambaboot\lock.yml" >nul
if not exist "%TARGET%\.mambaboot\lock.yml" goto :failed
copy /y "%HERE%mambaboot\env.json" "%TARGET%\.mambaboot\env.json" >nul
if not exist "%TARGET%\.mambaboot\env.json" goto :failed
echo Created %TARGET%
echo Enter it with:  "%TARGET%\activate.bat"
exit /b 0

:active
echo install.bat: an environment is active in this shell (CONDA_PREFIX/VIRTUAL_ENV); open a new cmd.exe or deactivate it, then run this again. 1>&2
exit /b 2

:nobinary
echo install.bat: micromamba is not in this folder and cannot be copied; use a complete export. 1>&2
exit /b 1

:badbinary
del /q "%MM%.part" "%MM%" 2>nul
echo install.bat: micromamba's sha256 is "%GOT%", not %MICROMAMBA_SHA256%: refused (a wrong mirror, a proxy rewriting downloads, or tampering). 1>&2
exit /b 1

:nodownload
del /q "%MM%.part" 2>nul
echo install.bat: could not download %MICROMAMBA_URL%; check the network (or set MICROMAMBA_URL to a mirror). 1>&2
exit /b 1

:failed
echo install.bat: creating %TARGET% failed (see above); nothing was kept. 1>&2
if exist "%TARGET%" rmdir /s /q "%TARGET%"
exit /b 1
