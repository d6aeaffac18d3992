"""Package metadata for ossad, read from settings.ini (nbdev 2 keeps it there)."""
from configparser import ConfigParser
from pathlib import Path
import setuptools

here = Path(__file__).parent
cfg = ConfigParser(delimiters=['='])
cfg.read(here/'settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']

licenses = {'apache2': 'Apache-2.0'}          # an SPDX expression (PEP 639): no "License ::" classifier beside it
statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable']
readme = here/'README.md'
git_url = cfg['git_url']

setuptools.setup(
    name=cfg['lib_name'],
    version=cfg['version'],
    description=cfg['description'],
    long_description=readme.read_text(encoding='utf-8') if readme.exists() else '',
    long_description_content_type='text/markdown',
    author=cfg['author'], author_email=cfg['author_email'],
    license_expression=licenses[cfg['license']],
    license_files=['LICENSE'],
    keywords=cfg['keywords'].split(),
    url=git_url,
    project_urls={'Documentation': f"{cfg['doc_host']}{cfg['doc_baseurl']}",
                  'Source': git_url,
                  'Issues': f'{git_url}/issues',
                  'Changelog': f'{git_url}/blob/{cfg["branch"]}/CHANGELOG.md'},
    classifiers=['Development Status :: ' + statuses[int(cfg["status"]) - 1],
                 'Intended Audience :: ' + cfg['audience'].title(),
                 'Intended Audience :: Education',
                 'Intended Audience :: Science/Research',
                 'Natural Language :: ' + cfg['language'].title(),
                 'Operating System :: OS Independent',
                 'Programming Language :: Python :: 3',
                 'Programming Language :: Python :: 3.11',
                 'Topic :: Scientific/Engineering :: Artificial Intelligence',
                 'Topic :: Scientific/Engineering :: Image Recognition'],
    packages=setuptools.find_packages(include=['ossad', 'ossad.*']),
    include_package_data=True,
    python_requires='>=' + cfg['min_python'],
    install_requires=cfg['requirements'].split(),
    extras_require={'umap': cfg['umap_requirements'].split(), 'dev': cfg['dev_requirements'].split()},
    entry_points={'console_scripts': cfg['console_scripts'].split(),
                  'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
    zip_safe=False,
)
