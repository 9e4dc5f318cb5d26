# Installer for the conda environment "@NAME@" (@PLATFORM@, @COUNT@ packages),
# written by `mambaboot export` @MAMBABOOT_VERSION@ on @DATE@.
#
#   powershell -ExecutionPolicy Bypass -File install.ps1 [TARGET]
#   (default TARGET: @DIRNAME@ next to this script)
#
# It needs nothing but PowerShell: no Python, no conda. Every step is below; read
# it before you run it. What it touches:
#   TARGET                          the new environment (removed again if anything fails)
#   <TARGET's folder>\.mambaboot-installer-cache
#                                   micromamba, its package cache and its root prefix
# What it never touches: the registry, your PowerShell profile, ~\.conda, .condarc
# files, or anything else outside those two folders.
param([string]$Target = "")
$ErrorActionPreference = "Stop"
Set-StrictMode -Version 2

$Name = '@NAME@'
$Platform = '@PLATFORM@'
# micromamba does the actual install. Its version and sha256 are fixed here; a
# download (or mirror, $env:MICROMAMBA_URL) whose sha256 differs is refused.
$MicromambaVersion = '@MM_VERSION@'
$MicromambaSha256 = '@MM_SHA256@'
$MicromambaUrl = if ($env:MICROMAMBA_URL) { $env:MICROMAMBA_URL } else { '@MM_URL@' }
# @OFFLINE_NOTE@
$Offline = '@OFFLINE@' -eq '1'
$Embedded = '@MM_FILE@'
$Here = $PSScriptRoot

function Fail([string]$Message, [int]$Code = 2) {
    [Console]::Error.WriteLine("install.ps1: $Message")
    exit $Code
}

# 1. One environment per shell: refuse to run inside an active one.
if ($env:CONDA_PREFIX -or $env:VIRTUAL_ENV -or ($env:CONDA_SHLVL -and $env:CONDA_SHLVL -ne '0')) {
    Fail "an environment is active in this shell (CONDA_PREFIX/VIRTUAL_ENV); open a new PowerShell or deactivate it, then run this again."
}

# 2. The packages are built for one platform: refuse any other.
if ($Platform -ne 'win-64') {
    Fail "this environment is for $Platform; run install.sh on such a machine."
}

# 3. Where it goes: a new folder (an existing one is never replaced).
if (-not $Target) { $Target = Join-Path $Here '@DIRNAME@' }
$Target = [System.IO.Path]::GetFullPath($Target)
if (Test-Path -LiteralPath $Target) {
    Fail "$Target already exists; remove it or give another folder: install.ps1 C:\path\to\new-folder"
}
$Parent = Split-Path -Parent $Target
$Work = Join-Path $Parent '.mambaboot-installer-cache'
$MmDir = Join-Path $Work "micromamba\$MicromambaVersion"
$Mm = Join-Path $MmDir 'micromamba.exe'
foreach ($dir in @($MmDir, "$Work\pkgs", "$Work\root", "$Work\home")) {
    New-Item -ItemType Directory -Force -Path $dir | Out-Null
}

# 4. micromamba: the copy in this folder, one downloaded before, or a download
#    (retried); whichever it is, its sha256 must be the one above.
$Part = "$Mm.part"
if ($Embedded) {
    Copy-Item -LiteralPath (Join-Path $Here $Embedded) -Destination $Part -Force
} elseif (Test-Path -LiteralPath $Mm) {
    Copy-Item -LiteralPath $Mm -Destination $Part -Force
} else {
    if ($Offline) { Fail "micromamba is not in this folder; use a complete export." 1 }
    Write-Host "Downloading micromamba $MicromambaVersion from $MicromambaUrl"
    $ok = $false
    foreach ($attempt in 1..4) {
        try {
            Invoke-WebRequest -UseBasicParsing -Uri $MicromambaUrl -OutFile $Part
            $ok = $true
            break
        } catch {
            Start-Sleep -Seconds ([int][math]::Pow(2, $attempt - 1))
        }
    }
    if (-not $ok) { Fail "could not download $MicromambaUrl; check the network (or set MICROMAMBA_URL to a mirror)." 1 }
}
$Got = (Get-FileHash -LiteralPath $Part -Algorithm SHA256).Hash.ToLowerInvariant()
if ($Got -ne $MicromambaSha256) {
    Remove-Item -LiteralPath $Part, $Mm -Force -ErrorAction SilentlyContinue
    Fail "micromamba's sha256 is $Got, not ${MicromambaSha256}: refused (a wrong mirror, a proxy rewriting downloads, or tampering)." 1
}
Move-Item -LiteralPath $Part -Destination $Mm -Force

# 5. The packages: with an --offline export they are in pkgs\ here; micromamba
#    checks each one against the sha256 in env.txt either way.
$OfflineFlag = @()
if ($Offline) {
    Copy-Item -Path (Join-Path $Here 'pkgs\*') -Destination "$Work\pkgs" -Force
    $OfflineFlag = @('--offline')
}

# 6. micromamba creates the environment from the exact package list, once: no
#    CONDA*/MAMBA* variables or rc files, its own root prefix and package cache,
#    and USERPROFILE/APPDATA in the cache folder, so nothing lands in yours.
#    From here on, any failure (or Ctrl-C) removes the half-made environment.
$done = $false
try {
    Get-ChildItem env: | Where-Object { $_.Name -like 'CONDA*' -or $_.Name -like 'MAMBA*' } |
        ForEach-Object { Remove-Item -LiteralPath "env:$($_.Name)" }
    $env:CONDA_PKGS_DIRS = "$Work\pkgs"
    $env:MAMBA_ROOT_PREFIX = "$Work\root"
    $env:MAMBA_ADD_PIP_AS_PYTHON_DEPENDENCY = 'false'
    $env:USERPROFILE = "$Work\home"
    $env:HOME = "$Work\home"
    $env:APPDATA = "$Work\home\AppData\Roaming"
    $env:LOCALAPPDATA = "$Work\home\AppData\Local"
    Write-Host "Creating $Target ($Name, @COUNT@ packages)"
    & $Mm create --yes --prefix $Target --file (Join-Path $Here 'env.txt') --no-rc --root-prefix "$Work\root" @OfflineFlag
    if ($LASTEXITCODE -ne 0) { throw "micromamba create failed (exit code $LASTEXITCODE)" }
    # micromamba 2.3 lists the .pyc files of noarch: python packages (conda among them)
    # in conda-meta but does not write them when it installs from an explicit list:
    # the environment's own python compiles them, as a create from a solve does.
    $python = Join-Path $Target 'python.exe'
    if (Test-Path -LiteralPath $python) {
        & $python -m compileall -q -j 0 (Join-Path $Target 'Lib\site-packages') | Out-Null
    }

    # 7. What mambaboot writes into every environment, so that `mambaboot list`,
    #    `verify` and `remove` treat this one as their own; env.json last.
    New-Item -ItemType Directory -Force -Path "$Target\.mambaboot" | Out-Null
    foreach ($file in @('activate.bat', 'deactivate.bat', 'activate.ps1', 'activate.sh', 'activate.fish')) {
        $source = Join-Path $Here "mambaboot\$file"
        if (Test-Path -LiteralPath $source) { Copy-Item -LiteralPath $source -Destination $Target }
    }
    $condarc = Join-Path $Here 'mambaboot\condarc'
    if (Test-Path -LiteralPath $condarc) { Copy-Item -LiteralPath $condarc -Destination "$Target\.condarc" }
    Copy-Item -LiteralPath (Join-Path $Here 'lock.yml') -Destination "$Target\.mambaboot\lock.yml"
    Copy-Item -LiteralPath (Join-Path $Here 'mambaboot\env.json') -Destination "$Target\.mambaboot\env.json"
    $done = $true
} finally {
    if (-not $done -and (Test-Path -LiteralPath $Target)) {
        Remove-Item -LiteralPath $Target -Recurse -Force -ErrorAction SilentlyContinue
        [Console]::Error.WriteLine("install.ps1: creating $Target failed (see above); nothing was kept.")
    }
}
Write-Host "Created $Target"
Write-Host "Enter it with:  . `"$Target\activate.ps1`""
